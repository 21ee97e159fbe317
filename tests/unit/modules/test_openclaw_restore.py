"""openclaw_restore: the archive is refused before anything is touched (corrupt, too new, partial), check mode and
verify_only change nothing, extract_to unpacks beside, and a restore swaps the state in and proves it; a failed
step after the stop (config rejected, start failed, gateway not ready) puts the previous state back. systemctl and the
gateway CLI are mocked (`commands`), and so is the readiness gate; a restore of a real gateway on a real host is
tests/molecule (default) and tests/integration/test_production_path.py."""

import os

import openclaw_restore
import pytest
from ansible.module_utils.openclaw_gateway_control import Service
from conftest import ME, MY_GROUP, make_state


@pytest.fixture
def live(tmp_path):
    return make_state(tmp_path / "live" / ".openclaw", note="live")


@pytest.fixture
def gate(monkeypatch):
    """The readiness gate: `gate.answers` is a list of None (ready) or an error text, one per call; ready after."""
    class Gate:
        answers = []
        calls = 0

    def fake(self, timeout, expect_version=None):
        Gate.calls += 1
        answer = Gate.answers.pop(0) if Gate.answers else None
        if answer:
            raise RuntimeError(answer)
        return {}
    monkeypatch.setattr(Service, "gate", fake)
    return Gate


def restore(run_module, archive, state_dir, check_mode=False, **extra):
    args = dict(archive=str(archive), state_dir=str(state_dir), owner=ME, group=MY_GROUP, installed_version="2026.9.6")
    return run_module(openclaw_restore.main, dict(args, **extra), check_mode=check_mode)


def note(state_dir):
    return (state_dir / "workspace" / "notes.md").read_text().strip()


def test_verify_only_checks_the_archive_and_changes_nothing(run_module, archive, live, commands):
    kind, res = restore(run_module, archive, live, verify_only=True)
    assert kind == "exit" and res["changed"] is False and res["msg"] == "archive verified"
    assert res["files"] == 3 and res["archive_version"] == "2026.9.5" and res["archive_format"] == "openclaw-ops"
    assert commands.calls == [] and note(live) == "live"


def test_check_mode_verifies_and_reports_a_change_without_stopping(run_module, archive, live, commands):
    kind, res = restore(run_module, archive, live, check_mode=True)
    assert kind == "exit" and res["changed"] is True and res["restored"] is False
    assert commands.calls == [] and note(live) == "live"


def test_a_restore_swaps_the_state_in_and_proves_it(run_module, archive, live, commands, gate):
    kind, res = restore(run_module, archive, live)
    assert kind == "exit", res
    assert res["restored"] is True and res["rolled_back"] is False and "safety_snapshot" not in res
    assert note(live) == "v1"
    assert oct(os.stat(live / "workspace" / "notes.md").st_mode & 0o777) == "0o600"
    assert [c[1:3] for c in commands.ran("systemctl")] == [["stop", "openclaw-gateway.service"],
                                                          ["start", "openclaw-gateway.service"]]
    assert commands.ran("validate") and commands.ran("doctor") and gate.calls == 2
    assert sorted(os.listdir(live.parent)) == [".openclaw"]  # no staging, no safety snapshot left


def test_a_user_unit_is_driven_through_the_users_manager(run_module, archive, live, commands, gate):
    kind, res = restore(run_module, archive, live, scope="user", user="alice", doctor=False)
    assert kind == "exit", res
    assert commands.ran("systemctl")[0][:3] == ["systemctl", "--user", "--machine=alice@"]
    assert not commands.ran("doctor") and gate.calls == 2  # gated before and after the (skipped) doctor


def test_a_user_scope_needs_the_user(run_module, archive, live):
    kind, res = restore(run_module, archive, live, scope="user")
    assert kind == "fail" and "scope is user but all of the following are missing: user" in res["msg"]


def test_a_gateway_that_does_not_become_ready_gets_the_previous_state_back(run_module, archive, live, commands, gate):
    gate.answers = ["openclaw-gateway.service failed (result exit-code, exit status 78)"]
    kind, res = restore(run_module, archive, live)
    assert kind == "fail" and res["rolled_back"] is True and res["restored"] is False
    assert "restored gateway did not become ready: openclaw-gateway.service failed" in res["msg"]
    assert "previous state put back and the gateway is ready again" in res["msg"]
    assert note(live) == "live" and sorted(os.listdir(live.parent)) == [".openclaw"]
    assert [c[1] for c in commands.ran("systemctl")] == ["stop", "start", "stop", "start"]


def test_a_rejected_config_is_rolled_back_and_a_way_back_that_fails_says_so(run_module, archive, live, commands, gate):
    commands.answers["validate"] = (1, '{"ok": false, "error": "gateway.port: expected number"}', "")
    gate.answers = ["not ready within 120 s: /readyz connection refused"]
    kind, res = restore(run_module, archive, live)
    assert kind == "fail" and res["rolled_back"] is True
    assert "`openclaw config validate` rejected the restored config" in res["msg"]
    assert "previous state put back, but the gateway is not ready" in res["msg"]
    assert note(live) == "live" and res["safety_snapshot"].startswith(f"{live}.pre-restore-")


def test_a_failed_start_is_rolled_back(run_module, archive, live, commands, gate):
    starts = []

    def systemctl(argv):
        if "start" in argv:
            starts.append(argv)
            if len(starts) == 1:
                return 1, "", "Job for openclaw-gateway.service failed."
        return 0, "", ""
    commands.answers["systemctl"] = systemctl
    kind, res = restore(run_module, archive, live)
    assert kind == "fail" and "systemctl start openclaw-gateway.service failed: Job for" in res["msg"]
    assert note(live) == "live" and len(starts) == 2


def test_a_gateway_that_cannot_be_stopped_is_left_as_it_was(run_module, archive, live, commands, gate):
    commands.answers["stop"] = (1, "", "Failed to stop openclaw-gateway.service: Access denied")
    kind, res = restore(run_module, archive, live)
    assert kind == "fail" and res["changed"] is False and res["rolled_back"] is False
    assert "stopped before the swap (systemctl stop openclaw-gateway.service failed: Failed to stop" in res["msg"]
    assert note(live) == "live" and sorted(os.listdir(live.parent)) == [".openclaw"]  # no staging left
    assert [c[1] for c in commands.ran("systemctl")] == ["stop"] and gate.calls == 0


def test_extract_to_unpacks_beside_and_leaves_the_gateway_alone(run_module, archive, live, tmp_path, commands):
    dest = tmp_path / "drill"
    kind, res = restore(run_module, archive, live, extract_to=str(dest))
    assert kind == "exit" and res["changed"] is True and res["msg"] == f"verified and unpacked into {dest}"
    assert note(dest) == "v1" and note(live) == "live" and commands.calls == []
    kind, res = restore(run_module, archive, live, extract_to=str(dest))
    assert kind == "fail" and "already exists" in res["msg"]


def test_a_corrupt_archive_is_refused_before_touching_the_gateway(run_module, archive, live, tmp_path, commands):
    data = open(archive, "rb").read()
    bad = tmp_path / "truncated.tar.gz"
    bad.write_bytes(data[: len(data) // 2])
    kind, res = restore(run_module, bad, live)
    assert kind == "fail" and res["msg"].startswith(f"Refusing {bad} before touching the gateway:")
    assert res["changed"] is False and commands.calls == [] and note(live) == "live"


def test_an_archive_of_a_newer_openclaw_is_refused(run_module, archive, live, commands):
    kind, res = restore(run_module, archive, live, installed_version="2026.9.4")
    assert kind == "fail" and "taken by openclaw 2026.9.5, newer than the installed 2026.9.4" in res["msg"]
    assert commands.calls == []


def test_a_partial_archive_is_refused_for_a_whole_state_restore(run_module, live, tmp_path, commands):
    import openclaw_backup

    kind, res = run_module(openclaw_backup.main, dict(state_dir=str(live), dest_dir=str(tmp_path / "b"), marker_dir="",
                                                      min_free_mb=0, classes=["config"]))
    assert kind == "exit", res
    kind, res = restore(run_module, res["path"], live)
    assert kind == "fail" and "holds only part of the state (config)" in res["msg"]


def test_required_arguments(run_module, archive):
    kind, res = run_module(openclaw_restore.main, dict(archive=str(archive)))
    assert kind == "fail" and "missing required arguments" in res["msg"] and "installed_version" in res["msg"]
