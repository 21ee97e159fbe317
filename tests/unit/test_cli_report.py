"""openclaw_ops.report on recorded ansible-runner events.

The fixtures in cli_events/ are real runner events (trimmed to the fields the parser reads, the podman
host renamed gw1) recorded from `openclaw-ops deploy|health|backup` against a real podman systemd host
running the real gateway (backup-ok.json predates backup sets: one unlooped task), and from a local play
with block/rescue, ignore_errors and no_log; upgrade-real.json and rollback-real.json from a real upgrade
2026.9.5 -> 2026.9.6 and the operator's rollback. The exceptions are upgrade-contract.json (an automatic
rollback, which was not provoked for real here) and rollback-contract.json: written from the openclaw_upgrade
result contract, in the shape of the recorded events.
"""

import io
import json
import os
import sys
import time
import tomllib
from argparse import Namespace
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from openclaw_ops import cli, report  # noqa: E402

EVENTS = Path(__file__).parent / "cli_events"


def build(name, **meta):
    data = json.loads((EVENTS / f"{name}.json").read_text())
    events = data["events"] if isinstance(data, dict) else data
    builder = report.ReportBuilder()
    for event in events:
        builder.add(event)
    return builder.build(**meta)


def test_deploy_ok_has_version_readiness_and_changes():
    rep = build("deploy-ok")
    gw = rep["hosts"]["gw1"]
    assert rep["completed"] and rep["summary"] == {"ok": 1, "failed": 0, "unreachable": 0}
    assert gw["result"] == "ok" and gw["version"] == "2026.9.6" and gw["ready"] is True
    assert gw["changed"] and gw["changed_tasks"] == 20 and gw["failed_task"] is None
    assert 150 < gw["duration"] < 250  # first task start -> last task end of the recorded run (197 s)
    probe = gw["modules"]["openclaw_health"][0]
    assert probe["task"].startswith("openclaw_gateway : Wait for /readyz") and probe["status"]["/readyz"] == 200
    assert probe["task_status"] == "ok" and "invocation" not in probe
    assert rep["controller"] is None and report.report_ok(rep, 0)


def test_censored_result_counts_but_says_nothing():
    events = json.loads((EVENTS / "deploy-ok.json").read_text())
    censored = [e for e in events if "censored" in e["event_data"].get("res", {})]
    assert [e["event_data"]["task"] for e in censored] == ["Write the gateway token secret file"]
    assert report.clean_result(censored[0]["event_data"]["res"]) == {"censored": True, "changed": True}
    assert report.result_message(censored[0]["event_data"]["res"]) == "(output hidden: no_log task)"


def test_health_ok_and_controller_play():
    rep = build("health-ok")
    assert rep["hosts"]["gw1"]["result"] == "ok" and rep["hosts"]["gw1"]["version"] == "2026.9.6"
    assert rep["controller"]["result"] == "ok"  # health.yml's report play on localhost
    assert report.report_ok(rep, 0)


def test_health_down_fails_the_host_from_the_module_verdict():
    rep = build("health-down")
    gw = rep["hosts"]["gw1"]
    # the probe task itself is ok (fail_on_unhealthy: false); the module's healthy=false fails the host
    assert gw["result"] == "failed" and gw["ready"] is False and gw["healthy"] is False
    assert gw["failed_task"].startswith("Probe the gateway")
    assert gw["msg"] == "unit openclaw-gateway.service is inactive; /healthz connection refused"
    assert rep["controller"]["result"] == "failed" and "Unhealthy gateways: gw1" in rep["controller"]["msg"]
    assert rep["summary"] == {"ok": 0, "failed": 1, "unreachable": 0}
    assert not report.report_ok(rep, 2)
    assert "failed" in report.table(rep).splitlines()[1]


def test_backup_archive_path():
    gw = build("backup-ok")["hosts"]["gw1"]
    assert gw["result"] == "ok"
    assert gw["backup_path"].startswith("/var/backups/openclaw/openclaw-backup-gw1-") and gw["backup_path"].endswith(".tar.gz")
    assert gw["backup_size"] > 0 and len(gw["backup_sha256"]) == 64


def test_backup_sets_loop_gives_every_archive():
    """backup.yml with backup sets: one looped openclaw_backup task, one result per set."""
    gw = build("backup-sets-ok")["hosts"]["gw1"]
    assert gw["result"] == "ok"
    names = [p.rsplit("/", 1)[-1].split("-gw1-")[0] for p in gw["backup_paths"]]
    assert names == ["openclaw-backup", "openclaw-config", "openclaw-credentials", "openclaw-agents"]
    assert gw["backup_path"] == gw["backup_paths"][-1]
    results = gw["modules"]["openclaw_backup"]
    assert [r["item"] for r in results] == ["backup (all)", "config (config)", "credentials (credentials)", "agents (agents)"]
    assert all(r["task_status"] == "changed" and "results" not in r for r in results)
    assert "(+3 more)" in report.table(build("backup-sets-ok"))


def test_failed_preflight_names_task_and_message():
    rep = build("deploy-preflight-failed")
    gw = rep["hosts"]["gw1"]
    assert gw["result"] == "failed" and gw["failed_task"] == "openclaw_gateway : Check openclaw_gateway_port"
    assert gw["msg"] == "openclaw_gateway_port must be an integer between 1 and 65535 (got 0)."
    assert not report.report_ok(rep, 2)


def test_gateway_not_ready_rescue_that_fails_again():
    """Recorded on an overloaded machine: the readiness gate timed out, the rescue collected the journal and
    failed the host. The recap counts the host both rescued and failed; the last failure is the one reported."""
    rep = build("deploy-not-ready")
    gw = rep["hosts"]["gw1"]
    assert gw["result"] == "failed" and gw["failed_task"] == "openclaw_gateway : Fail the host with the journal tail"
    assert gw["msg"].startswith("OpenClaw gateway on 127.0.0.1:18789 is unhealthy after 120.01 s") and "journal" in gw["msg"]
    probe = gw["modules"]["openclaw_health"][-1]
    assert probe["task_status"] == "failed" and gw["ready"] is False and gw["healthy"] is False
    assert not report.report_ok(rep, 2)


def test_unreachable_host():
    rep = build("health-unreachable")
    gw = rep["hosts"]["gw-gone"]
    assert gw["result"] == "unreachable" and "Failed to create temporary directory" in gw["msg"]
    assert rep["summary"]["unreachable"] == 1 and not report.report_ok(rep, 4)


def test_rescued_and_ignored_failures_do_not_fail_the_host():
    rep = build("rescued-and-ignored")
    gw = rep["hosts"]["gw1"]
    assert gw["result"] == "ok" and gw["failed_task"] is None
    assert report.report_ok(rep, 0)


def test_without_recap_the_events_decide():
    events = json.loads((EVENTS / "rescued-and-ignored.json").read_text())
    builder = report.ReportBuilder()
    for event in events[:-1]:  # the run was cut off before playbook_on_stats
        builder.add(event)
    rep = builder.build()
    assert rep["completed"] is False and rep["hosts"]["gw1"]["result"] == "failed"  # the rescued failure counts
    assert not report.report_ok(rep, 0)


def test_upgrade_contract_fields_and_automatic_rollback():
    rep = build("upgrade-contract")
    gw1, gw2 = rep["hosts"]["gw1"], rep["hosts"]["gw2"]
    # the last openclaw_upgrade result (the upgrade, not the plan) is the one lifted
    assert gw1["result"] == "ok" and (gw1["from_version"], gw1["to_version"]) == ("2026.9.5", "2026.9.6")
    assert gw1["rolled_back"] is False and gw1["downtime_seconds"] == 7.9 and gw1["upgrade_seconds"] == 61.2
    assert gw1["current_version"] == "2026.9.6" and len(gw1["modules"]["openclaw_upgrade"]) == 2
    assert gw1["backup_path"].startswith("/var/backups/openclaw/openclaw-preupgrade-2026.9.5-gw1-")
    assert gw1["duration"] == 65.2
    # the module failed its task after rolling back: failed, with why and how long /readyz was down
    assert gw2["result"] == "failed" and gw2["rolled_back"] is True and gw2["reason"].startswith("/readyz not ready")
    assert gw2["failed_task"] == "openclaw_upgrade : Upgrade, rolling back on failure, to 2026.9.6"
    assert gw2["msg"] == "upgrade to 2026.9.6 failed; rolled back to 2026.9.5" and gw2["downtime_seconds"] == 131.4
    assert rep["summary"] == {"ok": 1, "failed": 1, "unreachable": 0} and not report.report_ok(rep, 2)
    lines = report.table(rep).splitlines()
    assert "2026.9.5 -> 2026.9.6, downtime 7.9s" in lines[1] and "2026.9.6" in lines[1]
    assert lines[2].split()[:2] == ["gw2", "failed"] and "2026.9.5" in lines[2]  # the version that runs now


def test_real_upgrade_then_operator_rollback():
    """Recorded: `openclaw-ops upgrade` 2026.9.5 -> 2026.9.6 then `openclaw-ops rollback` on a real host (2 loaded cores)."""
    up = build("upgrade-real")["hosts"]["gw1"]
    assert up["result"] == "ok" and (up["from_version"], up["to_version"], up["current_version"]) == (
        "2026.9.5", "2026.9.6", "2026.9.6")
    assert up["rolled_back"] is False and up["downtime_seconds"] == 73.13 and up["upgrade_seconds"] == 149.29
    assert up["backup_path"].startswith("/var/backups/openclaw/openclaw-preupgrade-2026.9.5-gw1-")
    assert [r["task"].split(" : ")[-1][:12] for r in up["modules"]["openclaw_upgrade"]] == ["Plan the upg", "Upgrade, rol"]
    rep = build("rollback-real")
    back = rep["hosts"]["gw1"]
    assert back["result"] == "ok" and back["rolled_back"] is True and back["current_version"] == "2026.9.5"
    assert back["downtime_seconds"] == 70.0 and report.report_ok(rep, 0)
    assert "2026.9.6 -> 2026.9.5, rolled back, downtime 70.0s" in report.table(rep)


def test_operator_rollback_succeeds_with_rolled_back_true():
    rep = build("rollback-contract")
    gw1 = rep["hosts"]["gw1"]
    assert gw1["result"] == "ok" and gw1["rolled_back"] is True and gw1["current_version"] == "2026.9.5"
    assert report.report_ok(rep, 0)
    # the no_log token task: only that it ran and changed
    assert gw1["modules"]["openclaw_token"] == [{"censored": True, "changed": True, "task": "Rotate the gateway token",
                                                 "task_status": "changed"}]


def test_no_host_ran_is_not_ok():
    rep = report.ReportBuilder().build()
    assert not report.report_ok(rep, 0)


@pytest.mark.parametrize("data,name", [
    ({"resolved_action": "ansible.legacy.openclaw_health", "task_action": "openclaw_health"}, "openclaw_health"),
    ({"task_action": "openclaw_backup"}, "openclaw_backup"),
    ({"resolved_action": "ansible.builtin.command"}, "command"),
    ({}, ""),
])
def test_module_name(data, name):
    assert report.module_name(data) == name


def test_progress_lines():
    out = io.StringIO()
    progress = cli.Progress(out, verbose=False, builder=report.ReportBuilder())
    for event in json.loads((EVENTS / "health-down.json").read_text()):
        assert progress(event) is True
    lines = out.getvalue().splitlines()
    assert any("gw1" in line and "UNHEALTHY" in line and "Probe the gateway" in line for line in lines)
    assert any("localhost" in line and "FAILED" in line for line in lines)
    assert "| unit openclaw-gateway.service is inactive; /healthz connection refused" in out.getvalue()


def test_runner_cmdline_quotes_extra_vars(tmp_path):
    varfile = tmp_path / "vars.yml"
    varfile.write_text("a: 1\n")
    args = Namespace(extra_vars=["openclaw_gateway_version=2026.9.6", '{"x": "a b"}', f"@{varfile}"], check=True, diff=False)
    assert cli.runner_cmdline(args) == (
        f"-e openclaw_gateway_version=2026.9.6 -e '{{\"x\": \"a b\"}}' -e @{varfile} --check")


def test_parse_args_and_playbook_map():
    args = cli.parse_args(["upgrade", "-i", "inv", "-i", "inv2", "--limit", "gw1", "-e", "a=1", "--json-report", "r.json"])
    assert (args.command, args.inventory, args.limit, args.extra_vars) == ("upgrade", ["inv", "inv2"], "gw1", ["a=1"])
    assert cli.PLAYBOOKS["upgrade"] == "upgrade.yml" and cli.PLAYBOOKS["health"] == "health.yml"
    with pytest.raises(SystemExit):
        cli.parse_args(["deploy"])  # --inventory is required: no silent sandbox default in CI
    assert cli.find_project_dir(None) == ROOT


def test_execution_environment_matches_pyproject():
    """The EE installs exactly the runtime dependencies pyproject declares."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    core = next(d for d in deps if d.startswith("ansible-core"))
    runner = next(d for d in deps if d.startswith("ansible-runner"))
    assert ee["dependencies"]["ansible_core"]["package_pip"] == core
    assert ee["dependencies"]["ansible_runner"]["package_pip"] == runner
    reqs = (ROOT / ee["dependencies"]["python"]).read_text().split("\n")
    reqs = [line.strip() for line in reqs if line.strip() and not line.startswith("#")]
    assert sorted(reqs) == sorted(d for d in deps if d not in (core, runner))
    assert (ROOT / ee["dependencies"]["system"]).is_file()


def test_missing_inventory_is_a_usage_error(tmp_path, capsys):
    """ansible-playbook only warns about a missing inventory and runs on none: refused before it starts."""
    assert cli.main(["health", "-i", str(tmp_path / "nope.yml")]) == 2
    assert "inventory not found" in capsys.readouterr().err


def test_descendants_finds_children_and_grandchildren():
    """What a cancel kills after runner's own kill (since ansible-core 2.19 a task can outlive ansible-playbook)."""
    import subprocess

    child = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        for _ in range(50):
            found = cli.descendants(os.getpid())
            if len(found) >= 2:
                break
            time.sleep(0.05)
        assert child.pid in found and len(found) >= 2  # sh and its sleep
        assert os.getpid() not in found
    finally:
        for pid in cli.descendants(child.pid):
            os.kill(pid, 9)
        child.kill()
        child.wait()
