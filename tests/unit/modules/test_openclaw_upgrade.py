"""openclaw_upgrade: what is refused before anything changes (arguments, no install, no pre-upgrade archive, an
unhealthy baseline, a failed npm install, a refused rehearsal), check mode and action=plan, a switch that succeeds,
one that fails and is rolled back to the previous package and the pre-upgrade state, and the operator's rollback's
refusals. systemctl and npm are mocked (`commands`), and so are the readiness gate and the 10 Hz poller; the real
upgrade, rehearsal and rollback on three hosts are tests/molecule/test_upgrade.py."""

import json
import os

import openclaw_upgrade
import pytest
from ansible.module_utils import openclaw_upgrade_flow
from ansible.module_utils.openclaw_gateway_control import Service
from conftest import ME, MY_GROUP, make_state

OLD, NEW = "2026.9.5", "2026.9.6"


def install_version(root, version):
    pkg = root / "versions" / version / "node_modules" / "openclaw"
    pkg.mkdir(parents=True)
    (pkg / "package.json").write_text(json.dumps({"name": "openclaw", "version": version}))


@pytest.fixture
def host(tmp_path, archive, commands, monkeypatch):
    """/opt/openclaw with OLD installed and current, a live state, the pre-upgrade archive; npm, the gate and the poller
    stand-ins. `host.unready` lists the versions the gate refuses."""
    root = tmp_path / "opt"
    install_version(root, OLD)
    os.symlink(f"versions/{OLD}", root / "current")
    live = make_state(tmp_path / "live" / ".openclaw", note="live")

    class Host:
        unready = set()
        gates = []

    def npm(argv):
        partial, wanted = argv[argv.index("--prefix") + 1], argv[-1].split("@", 1)[1]
        pkg = os.path.join(partial, "node_modules", "openclaw")
        os.makedirs(pkg)
        with open(os.path.join(pkg, "package.json"), "w") as fh:
            json.dump({"version": wanted}, fh)
        return 0, "", ""

    def gate(self, timeout, expect_version=None):
        Host.gates.append(expect_version)
        if expect_version in Host.unready:
            raise RuntimeError(f"{self.unit} failed (result exit-code, exit status 78)")
        return {}

    class Poller:
        failed_probes = 3

        def __init__(self, module, port, *args, **kwargs):
            pass

        def start(self):
            pass

        def finish(self):
            return 0.3

    commands.answers["install"] = npm
    monkeypatch.setattr(Service, "gate", gate)
    monkeypatch.setattr(openclaw_upgrade_flow, "ReadinessPoller", Poller)
    Host.root, Host.live, Host.archive, Host.records = root, live, archive, tmp_path / "record"
    return Host


def upgrade(run_module, host, check_mode=False, **extra):
    args = dict(version=NEW, backup_archive=host.archive, install_root=str(host.root), node_bin_dir="/opt/node/bin",
                state_dir=str(host.live), owner=ME, group=MY_GROUP, record_dir=str(host.records), rehearse=False)
    return run_module(openclaw_upgrade.main, {k: v for k, v in dict(args, **extra).items() if v is not None},
                      check_mode=check_mode)


def current(host):
    return os.readlink(host.root / "current").split("/")[-1]


def note(path):
    return (path / "workspace" / "notes.md").read_text().strip()


@pytest.mark.parametrize("bad, msg", [
    (dict(version="latest"), "'latest' is not an exact openclaw version"),
    (dict(version="^2026.9"), "no ranges or tags"),
    (dict(keep_versions=1), "keep_versions must be at least 2"),
    (dict(version=None), "action is upgrade but all of the following are missing: version"),
    (dict(action="downgrade"), "value of action must be one of"),
])
def test_bad_arguments_are_refused(run_module, host, commands, bad, msg):
    kind, res = upgrade(run_module, host, **bad)
    assert kind == "fail" and msg in res["msg"]
    assert commands.calls == [] and current(host) == OLD


def test_the_running_version_changes_nothing(run_module, host, commands):
    kind, res = upgrade(run_module, host, version=OLD)
    assert kind == "exit" and res["changed"] is False and "already the running version" in res["msg"]
    assert commands.calls == []


@pytest.mark.parametrize("how", ["check_mode", "plan"])
def test_check_mode_and_plan_report_the_plan_and_change_nothing(run_module, host, commands, how):
    kind, res = upgrade(run_module, host, check_mode=how == "check_mode", action="plan" if how == "plan" else "upgrade")
    assert kind == "exit" and res["changed"] is True and res["msg"] == f"would upgrade {OLD} -> {NEW}"
    assert res["plan"] == {"install": True, "prune": []} and res["current_version"] == OLD
    assert commands.calls == [] and not (host.root / "versions" / NEW).exists()


def test_no_install_is_refused(run_module, host):
    os.unlink(host.root / "current")
    kind, res = upgrade(run_module, host)
    assert kind == "fail" and "No openclaw install found" in res["msg"] and "deploy.yml" in res["msg"]


def test_no_pre_upgrade_archive_is_refused_before_anything_changes(run_module, host, commands, tmp_path):
    kind, res = upgrade(run_module, host, backup_archive=str(tmp_path / "gone.tar.gz"))
    assert kind == "fail" and "a pre-upgrade backup is required" in res["msg"] and res["changed"] is False
    assert commands.calls == [] and current(host) == OLD


def test_an_unhealthy_baseline_is_refused_before_anything_changes(run_module, host, commands):
    host.unready.add(OLD)
    kind, res = upgrade(run_module, host)
    assert kind == "fail" and res["msg"].startswith("Upgrade preflight failed, nothing was switched:")
    assert not commands.ran("install") and current(host) == OLD


def test_a_failed_npm_install_leaves_the_running_version_alone(run_module, host, commands):
    commands.answers["install"] = (1, "", "npm error 404 Not Found - GET https://registry.npmjs.org/openclaw/-/openclaw-9.9.9.tgz")
    kind, res = upgrade(run_module, host)
    assert kind == "fail" and "npm could not install openclaw@2026.9.6 (the running version is untouched)" in res["msg"]
    assert sorted(os.listdir(host.root / "versions")) == [OLD] and current(host) == OLD


def test_a_refused_rehearsal_stops_before_the_switch(run_module, host, commands, monkeypatch):
    def rehearse(self, version, staging):
        raise RuntimeError(f"rehearsal start of openclaw {version} on a copy of this host's state failed (exit status 78)")
    monkeypatch.setattr(openclaw_upgrade_flow.Upgrader, "rehearse", rehearse)
    kind, res = upgrade(run_module, host, rehearse=True)
    assert kind == "fail" and res["refused"] is True and "refused before the switch" in res["msg"]
    assert current(host) == OLD and note(host.live) == "live" and not commands.ran("restart")
    assert sorted(os.listdir(host.live.parent)) == [".openclaw"]  # the rollback state was removed


def test_an_upgrade_switches_proves_and_records(run_module, host, commands):
    kind, res = upgrade(run_module, host)
    assert kind == "exit", res
    assert res["current_version"] == NEW and res["installed"] is True and res["rolled_back"] is False
    assert res["downtime_seconds"] == 0.3 and res["failed_probes"] == 3
    assert current(host) == NEW and note(host.live) == "live"
    assert [c[1] for c in commands.ran("systemctl") if c[1] in ("restart", "stop", "start")] == ["restart"]
    assert host.gates == [OLD, NEW]
    record = json.loads((host.records / "last.json").read_text())
    assert (record["status"], record["from_version"], record["to_version"]) == ("upgraded", OLD, NEW)
    assert sorted(os.listdir(host.live.parent)) == [".openclaw"]


def test_a_failed_switch_brings_back_the_previous_package_and_state(run_module, host, commands):
    host.unready.add(NEW)
    kind, res = upgrade(run_module, host, verify_command="true")
    assert kind == "fail" and res["rolled_back"] is True
    assert f"Upgrade {OLD} -> {NEW} failed" in res["msg"] and "Rolled back: previous state put back" in res["msg"]
    assert "ready again" in res["msg"] and res["current_version"] == OLD and current(host) == OLD
    assert note(host.live) == "v1"  # the pre-upgrade archive's state
    assert note(host.live.parent / os.path.basename(res["aside"])) == "live"  # the replaced one, kept aside
    assert json.loads((host.records / "last.json").read_text())["status"] == "rolled_back"
    assert not commands.ran("/bin/sh")  # the operator's check runs only once the new version is ready


def test_a_failing_verify_command_rolls_back(run_module, host, commands):
    commands.answers["/bin/sh"] = (3, "", "channel telegram not connected")
    kind, res = upgrade(run_module, host, verify_command="/usr/local/bin/check-my-channels")
    assert kind == "fail" and "verify command exited 3: channel telegram not connected" in res["msg"]
    assert current(host) == OLD and res["rolled_back"] is True


def test_a_corrupt_pre_upgrade_archive_is_refused(run_module, host, tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(open(host.archive, "rb").read()[:200])
    kind, res = upgrade(run_module, host, backup_archive=str(bad))
    assert kind == "fail" and f"The rollback archive {bad} does not verify" in res["msg"] and current(host) == OLD


def test_a_rollback_needs_a_recorded_upgrade(run_module, host):
    kind, res = upgrade(run_module, host, action="rollback", version=None)
    assert kind == "fail" and "No completed upgrade is recorded" in res["msg"] and "no record" in res["msg"]


def test_a_rollback_in_check_mode_says_what_it_would_do(run_module, host, commands):
    kind, res = upgrade(run_module, host)
    assert kind == "exit", res
    kind, res = upgrade(run_module, host, action="rollback", version=None, check_mode=True)
    assert kind == "exit" and res["changed"] is True and res["msg"].startswith(f"would roll back {NEW} -> {OLD} with")
    assert current(host) == NEW


def test_a_rollback_over_a_change_it_did_not_make_is_refused(run_module, host, commands):
    kind, res = upgrade(run_module, host)
    assert kind == "exit", res
    install_version(host.root, "2026.9.7")
    os.unlink(host.root / "current")
    os.symlink("versions/2026.9.7", host.root / "current")
    kind, res = upgrade(run_module, host, action="rollback", version=None)
    assert kind == "fail" and "but 2026.9.7 is running now; refusing to roll back" in res["msg"]


def test_an_operators_rollback_brings_back_the_previous_version_and_its_state(run_module, host, commands):
    kind, res = upgrade(run_module, host)
    assert kind == "exit", res
    (host.live / "workspace" / "notes.md").write_text("migrated\n")
    kind, res = upgrade(run_module, host, action="rollback", version=None)
    assert kind == "exit", res
    assert res["rolled_back"] is True and res["current_version"] == OLD and current(host) == OLD
    assert note(host.live) == "v1" and note(host.live.parent / os.path.basename(res["aside"])) == "migrated"
    assert host.gates[-1] == OLD
    assert json.loads((host.records / "last.json").read_text())["status"] == "rolled_back_by_operator"
