"""openclaw_token: check mode proves the current token and writes nothing; a rotation writes the new token, has the
gateway take it (file: `secrets reload` authenticated with the old token; config: the gateway's hot reload) and proves
new accepted and old rejected; a rotation that is not taken puts the old token back. The gateway's authenticated probe
and the CLI are mocked; the real rotation is tests/molecule/test_upgrade.py and test_production_path.py."""

import json
import os

import openclaw_token
import pytest
from ansible.module_utils import openclaw_token_rotation
from conftest import ME, MY_GROUP

OLD = "old-token-0123456789abcdef0123456789abcdef"
NEW = "new-token-fedcba9876543210fedcba9876543210"


class FakeGateway:
    """The token the running gateway holds; `reachable=False` makes every probe fail like a refused connection."""

    def __init__(self, token):
        self.token, self.reachable, self.probes = token, True, []

    def accepted(self, port, token, host="127.0.0.1", timeout=5.0):
        self.probes.append(token)
        if not self.reachable:
            raise RuntimeError("authenticated probe failed: [Errno 111] Connection refused")
        return token == self.token


@pytest.fixture
def gateway(monkeypatch):
    gw = FakeGateway(OLD)
    monkeypatch.setattr(openclaw_token_rotation, "token_accepted", gw.accepted)
    return gw


@pytest.fixture
def files(tmp_path):
    token_file = tmp_path / "gateway.token"
    token_file.write_text(OLD + "\n")
    config = tmp_path / "openclaw.json"
    config.write_text(json.dumps({"gateway": {"port": 18789, "auth": {"token": {"source": "file", "id": "gw"}}}}))
    return token_file, config


def rotate(run_module, files, check_mode=False, **extra):
    token_file, config = files
    args = dict(token_file=str(token_file), config_path=str(config), owner=ME, group=MY_GROUP, marker_dir="",
                accept_timeout=1)
    return run_module(openclaw_token.main, dict(args, **extra), check_mode=check_mode)


def reload_from(token_file, gateway):
    def reload(argv):
        gateway.token = token_file.read_text().strip()  # what `openclaw secrets reload` makes the gateway do
        return 0, '{"ok": true}', ""
    return reload


def test_check_mode_proves_the_current_token_and_writes_nothing(run_module, files, gateway, commands):
    kind, res = rotate(run_module, files, check_mode=True)
    assert kind == "exit" and res["changed"] is True and res["msg"] == "the token would be rotated"
    assert files[0].read_text().strip() == OLD and commands.calls == [] and gateway.probes == [OLD]


def test_a_rotation_is_taken_without_a_restart_and_proven(run_module, files, gateway, commands, tmp_path):
    commands.answers["reload"] = reload_from(files[0], gateway)
    kind, res = rotate(run_module, files, token=NEW, marker_dir=str(tmp_path / "markers"))
    assert kind == "exit", res
    assert res["new_accepted"] is True and res["old_rejected"] is True and res["restart"] is False
    assert files[0].read_text() == NEW
    assert "token" not in res and NEW not in json.dumps(res)
    (reload,) = commands.ran("reload")
    assert reload[-6:] == ["/opt/openclaw/current/node_modules/.bin/openclaw", "secrets", "reload", "--json", "--port",
                           "18789"]
    assert reload[:-6] == ([] if ME == "root" else ["/usr/bin/runuser", "-u", ME, "--"])  # as the owner
    env = commands.envs[commands.calls.index(reload)]
    assert env["OPENCLAW_GATEWAY_TOKEN"] == OLD  # the old token authenticates the reload, never on the command line
    assert OLD not in " ".join(reload) and NEW not in " ".join(reload)
    assert (tmp_path / "markers" / "token_rotated").is_file()
    assert not [p for p in os.listdir(files[0].parent) if p.startswith(".openclaw-token-")]


def test_return_token_gives_the_generated_token(run_module, files, gateway, commands):
    commands.answers["reload"] = reload_from(files[0], gateway)
    kind, res = rotate(run_module, files, return_token=True)
    assert kind == "exit" and len(res["token"]) >= 32 and res["token"] == files[0].read_text() == gateway.token


def test_a_literal_config_token_is_rotated_by_the_gateways_hot_reload(run_module, files, gateway, commands, monkeypatch):
    _token_file, config = files
    config.write_text(json.dumps({"gateway": {"auth": {"token": OLD}}}))

    def hot_reload(port, token, host="127.0.0.1", timeout=5.0):
        gateway.token = json.loads(config.read_text())["gateway"]["auth"]["token"]
        return token == gateway.token
    monkeypatch.setattr(openclaw_token_rotation, "token_accepted", hot_reload)
    kind, res = run_module(openclaw_token.main, dict(config_path=str(config), source="config", token=NEW, owner=ME,
                                                     group=MY_GROUP, marker_dir=""))
    assert kind == "exit" and res["new_accepted"] and commands.calls == []
    assert json.loads(config.read_text())["gateway"]["auth"]["token"] == NEW


def test_a_secretref_in_the_config_is_not_a_literal_token(run_module, files, gateway):
    _token_file, config = files
    kind, res = run_module(openclaw_token.main, dict(config_path=str(config), source="config", owner=ME, group=MY_GROUP))
    assert kind == "fail" and "is not a literal token" in res["msg"] and "Nothing was changed" in res["msg"]


def test_the_same_token_changes_nothing(run_module, files, gateway, commands):
    kind, res = rotate(run_module, files, token=OLD)
    assert kind == "exit" and res["changed"] is False and res["msg"] == "the gateway already uses this token"
    assert commands.calls == [] and gateway.probes == []


def test_a_short_token_is_refused(run_module, files, gateway):
    kind, res = rotate(run_module, files, token="short")
    assert kind == "fail" and "The new token is 5 characters; at least 32 are required." == res["msg"]


def test_a_gateway_that_does_not_use_this_token_is_not_rotated(run_module, files, gateway, commands):
    gateway.token = "something-else-entirely-0123456789abcdef"
    kind, res = rotate(run_module, files, token=NEW)
    assert kind == "fail" and "rejects the current token" in res["msg"] and "Nothing was changed" in res["msg"]
    assert files[0].read_text().strip() == OLD and commands.calls == []


def test_an_unreachable_gateway_is_not_rotated(run_module, files, gateway):
    gateway.reachable = False
    kind, res = rotate(run_module, files, token=NEW)
    assert kind == "fail" and res["msg"].startswith("Cannot reach the gateway to prove a rotation")
    assert files[0].read_text().strip() == OLD


def test_a_failed_reload_puts_the_old_token_back(run_module, files, gateway, commands):
    commands.answers["reload"] = (1, "", "gateway closed (1008): unauthorized")
    kind, res = rotate(run_module, files, token=NEW)
    assert kind == "fail" and res["rolled_back"] is True
    assert "`openclaw secrets reload` failed" in res["msg"] and "the old token is back in place and accepted" in res["msg"]
    assert files[0].read_text() == OLD and NEW not in res["msg"]


class Clock:
    """time for the rotation's waits: sleep() moves the clock instead of waiting."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_token_never_taken_is_put_back_after_the_timeout(run_module, files, gateway, commands, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(openclaw_token_rotation, "time", clock)
    kind, res = rotate(run_module, files, token=NEW)  # the reload "succeeds" but the gateway keeps the old token
    assert kind == "fail" and res["rolled_back"] is True
    assert "did not accept the new token (and reject the old one) within 1 s" in res["msg"]
    assert files[0].read_text() == OLD
    assert clock.now >= 1001.0 and gateway.probes.count(NEW) >= 2  # probed again until accept_timeout passed


def test_source_file_needs_the_token_file(run_module, files):
    _token_file, config = files
    kind, res = run_module(openclaw_token.main, dict(config_path=str(config), owner=ME, group=MY_GROUP))
    assert kind == "fail" and "source is file but all of the following are missing: token_file" in res["msg"]
