"""Runs each Molecule scenario's full sequence (destroy, syntax, create, [prepare], converge,
idempotence, verify) on real disposable systemd hosts with the real gateway, then checks that
`--check --diff` on the converged host predicts no change, then destroys the host."""

import json
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from archive_damage import damaged_copy
from molecule_config import scenario_inventory

ROOT = Path(__file__).resolve().parents[2]
# A scenario with its own driver module here (test_<scenario>.py) runs its own sequence there.
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml")
                   if not (Path(__file__).parent / f"test_{p.parent.name}.py").exists())


def molecule(args, log, env):
    with open(log, "w") as fh:
        res = subprocess.run(["molecule", *args], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=1800)
    return res.returncode, log.read_text()


def scenario_host(scenario):
    """Container name, group_vars and connection vars (SSH as deploy) of a scenario's host, from its molecule.yml."""
    names, gvars, hvars = scenario_inventory(scenario)
    return names[0], gvars, hvars.get(names[0])


def check_fleet_health(scenario, env, logs):
    """health.yml passes on the converged host and fails with a clear message once the gateway is stopped."""
    name, gvars, conn = scenario_host(scenario)
    inv = logs / f"{scenario}-inventory.yml"
    inv.write_text(yaml.safe_dump({"openclaw": {"hosts": {name: conn}, "vars": gvars}}))
    run = lambda: subprocess.run(["ansible-playbook", "health.yml", "-i", str(inv)], cwd=ROOT, env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=300)
    ok = run()
    assert ok.returncode == 0, ok.stdout[-4000:]
    assert f"| {name} | OK | 2026.9.6 | True | True |" in ok.stdout
    if scenario in BAD_UNIT_VALUES:
        check_bad_unit_value(name, inv, env, gvars, *BAD_UNIT_VALUES[scenario])
    if scenario == "default":
        check_checklists(name, inv, env)
        check_backup(name, inv, env, logs)
    ctl = ["systemctl"] if gvars.get("openclaw_gateway_service_scope") == "system" else \
        ["systemctl", "--user", f"--machine={gvars['openclaw_gateway_login_user']}@"]
    subprocess.run(["podman", "exec", name, *ctl, "stop", "openclaw-gateway.service"], env=env, check=True)
    down = run()
    assert down.returncode != 0, down.stdout[-4000:]
    assert f"Unhealthy gateways: {name} (unit openclaw-gateway.service is inactive; /healthz connection refused)" \
        in " ".join(down.stdout.split()), down.stdout[-4000:]


# A unit value of the right shape that systemd refuses (preflight types the values; only systemd knows its ranges):
# the validator (systemd-analyze on a temporary copy) stops it before the live unit is replaced. The system unit's
# case runs in tests/integration/test_service_ops.py
# (a shorter pole for the parallel CI than Molecule default).
BAD_UNIT_VALUES = {
    "user-scope": ("openclaw_gateway_cpu_quota=1500000000000000000000%", "Invalid CPU quota"),
}


def check_bad_unit_value(name, inv, env, gvars, bad, message):
    """A bad unit value fails the deploy with systemd-analyze's own message, leaves the live unit byte-identical and
    the gateway's PID unchanged; the same run with good values then converges with changed=0."""
    user = gvars.get("openclaw_gateway_login_user") if gvars.get("openclaw_gateway_service_scope") == "user" else None
    unit = f"/home/{user}/.config/systemd/user/openclaw-gateway.service" if user else \
        "/etc/systemd/system/openclaw-gateway.service"
    show = f"systemctl --user --machine={user}@ show" if user else "systemctl show"
    state = f"sha256sum {unit}; {show} -p MainPID --value openclaw-gateway.service"
    before = sh_in(name, env, state).stdout
    deploy = ["ansible-playbook", "deploy.yml", "-i", str(inv)]
    res = subprocess.run(deploy + ["-e", bad], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode != 0 and message in res.stdout, res.stdout[-4000:]
    assert sh_in(name, env, state).stdout == before, "the live unit or the gateway changed after a refused value"
    res = subprocess.run(deploy, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0 and re.search(rf"{name}\s*:\s*ok=\d+\s+changed=0\s", res.stdout), res.stdout[-4000:]
    assert sh_in(name, env, state).stdout == before


def check_backup(name, inv, env, logs):
    """backup.yml snapshots the running gateway, fetches the archive to the controller store, and the
    collector then exports the backup-success marker."""
    store = logs / "backup-store"
    shutil.rmtree(store, ignore_errors=True)
    res = subprocess.run(["ansible-playbook", "backup.yml", "-i", str(inv), "-e", "openclaw_backup_fetch=true",
                          "-e", f"openclaw_backup_store={store}"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    archives = list((store / name).glob("openclaw-backup-*.tar.gz"))
    assert len(archives) == 1, res.stdout[-2000:]
    with tarfile.open(archives[0]) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
    assert manifest["openclaw_version"] == "2026.9.6" and "state/openclaw.sqlite" in manifest["sqlite"]
    subprocess.run(["podman", "exec", name, "systemctl", "start", "openclaw-metrics.service"], env=env, check=True)
    prom = subprocess.run(["podman", "exec", name, "cat", "/var/lib/prometheus/node-exporter/openclaw.prom"], env=env,
                          capture_output=True, text=True, check=True).stdout
    assert "openclaw_last_backup_success_timestamp_seconds " in prom, prom
    check_restore(name, inv, env, logs, archives[0])
    check_restore_drill(name, inv, env)
    check_backup_schedule(name, inv, env)
    check_checklists_on_a_lived_host(name, inv, env)


def check_checklists_on_a_lived_host(name, inv, env):
    """The host now has history: backups of every set (ad hoc, scheduled, uploads), a restore and a failed restore
    behind it, a restore drill record, a refused unit value. Every checklist item is PASS or WARN there; backup
    integrity is PASS through this project's own verifier; the drill is PASS."""
    reports = ROOT / "reports" / "checks"
    for period in ("daily", "weekly", "monthly"):
        before = set(reports.glob(f"{period}-*.json"))
        res = subprocess.run(["ansible-playbook", f"check-{period}.yml", "-i", str(inv)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
        new = sorted(set(reports.glob(f"{period}-*.json")) - before)
        assert new, f"no {period} report written:\n{res.stdout[-4000:]}"
        rows = json.loads(new[-1].read_text())["results"]
        assert res.returncode == 0 and all(r["status"] in ("PASS", "WARN") for r in rows), (period, rows)
        status = {r["item"]: r["status"] for r in rows}
        if period == "weekly":
            assert status["backup integrity"] == "PASS", rows
        if period == "monthly":
            assert status["restore drill"] == "PASS", rows


def check_backup_schedule(name, inv, env):
    """backup-schedule.yml installs a timer whose run (without Ansible on the host) writes one verified archive per
    set and refreshes the success marker; a second run of the playbook changes nothing."""
    pb = ["ansible-playbook", "backup-schedule.yml", "-i", str(inv)]
    res = subprocess.run(pb, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    again = subprocess.run(pb, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert re.search(rf"{name}\s*:\s*ok=\d+\s+changed=0\s", again.stdout), again.stdout[-3000:]
    assert sh_in(name, env, "systemctl is-enabled openclaw-backup.timer").stdout.strip() == "enabled"
    assert "openclaw-backup.service" in sh_in(name, env, "systemctl list-timers --all openclaw-backup.timer").stdout
    before = sh_in(name, env, "cat /var/lib/openclaw-ops/markers/backup_success").stdout
    sh_in(name, env, "rm -f /var/backups/openclaw/openclaw-*.tar.gz && systemctl start openclaw-backup.service")
    assert sh_in(name, env, "systemctl show -p Result --value openclaw-backup.service").stdout.strip() == "success"
    made = sh_in(name, env, "cd /var/backups/openclaw && ls openclaw-*.tar.gz").stdout.split()
    assert sorted(n.split("-")[1] for n in made) == ["agents", "backup", "config", "credentials"], made
    assert sh_in(name, env, "cat /var/lib/openclaw-ops/markers/backup_success").stdout != before
    journal = sh_in(name, env, "journalctl -u openclaw-backup.service -o cat --no-pager").stdout
    assert "ok backup: /var/backups/openclaw/openclaw-backup-" in journal, journal[-2000:]


def check_restore_drill(name, inv, env):
    """The monthly drill boots the newest archive on a scratch port beside the live gateway, which keeps running."""
    pid = sh_in(name, env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip()
    res = subprocess.run(["ansible-playbook", "restore-drill.yml", "-i", str(inv)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "Restore drill passed" in res.stdout and "scratch state removed" in " ".join(res.stdout.split())
    assert json.loads(sh_in(name, env, "cat /var/lib/openclaw-ops/checks/restore-drill.json").stdout)["ok"] is True
    assert sh_in(name, env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip() == pid
    assert sh_in(name, env, "ls /var/tmp | grep -c openclaw-drill || true").stdout.strip() == "0"


def sh_in(name, env, script, check=True):
    return subprocess.run(["podman", "exec", name, "bash", "-c", script], env=env, capture_output=True, text=True,
                          check=check)


def craft_archive(src, dst, edit_config):
    """Copy an archive with openclaw.json changed and the manifest's sha256 updated (a consistent, verifiable
    archive whose gateway will not start)."""
    import hashlib
    import io
    with tarfile.open(src) as tin:
        members = {m.name: (m, tin.extractfile(m).read() if m.isfile() else None) for m in tin.getmembers()}
    cfg = json.loads(members["payload/openclaw.json"][1])
    data = json.dumps(edit_config(cfg)).encode()
    manifest = json.loads(members["manifest.json"][1])
    for entry in manifest["files"]:
        if entry["path"] == "openclaw.json":
            entry["sha256"], entry["size"] = hashlib.sha256(data).hexdigest(), len(data)
    members["payload/openclaw.json"] = (members["payload/openclaw.json"][0], data)
    members["manifest.json"] = (members["manifest.json"][0], json.dumps(manifest).encode())
    with tarfile.open(dst, "w:gz") as tout:
        for m, payload in members.values():
            m.size = len(payload) if payload is not None else 0
            tout.addfile(m, io.BytesIO(payload) if payload is not None else None)


def check_restore(name, inv, env, logs, archive):
    """Real restore cycle on a systemd host: wipe -> restore -> same data and ready; a damaged archive is refused
    before the gateway is stopped; a restore whose gateway does not become ready reverts to the previous state."""
    state = "/var/lib/openclaw/.openclaw"
    pb = ["ansible-playbook", "restore.yml", "-i", str(inv)]
    main_pid = lambda: sh_in(name, env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip()  # noqa: E731
    # data to find after the restore: written, backed up, then the whole state directory is wiped
    sh_in(name, env, f"mkdir -p {state}/workspace && echo restore-marker-42 > {state}/workspace/marker.txt && "
                     f"chown -R openclaw:openclaw {state}/workspace")
    res = subprocess.run(["ansible-playbook", "backup.yml", "-i", str(inv)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:]
    sh_in(name, env, f"systemctl stop openclaw-gateway && rm -rf {state} && systemctl start openclaw-gateway || true")
    res = subprocess.run(pb, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:]
    assert "restored and ready" in res.stdout
    assert sh_in(name, env, f"cat {state}/workspace/marker.txt").stdout.strip() == "restore-marker-42"
    assert sh_in(name, env, f"stat -c %U:%a {state} {state}/openclaw.json").stdout.split() == ["openclaw:700",
                                                                                               "openclaw:600"]
    # damaged archive: refused before the gateway is touched
    pid = main_pid()
    bad = logs / "flipped.tar.gz"
    damaged_copy(archive, bad)
    res = subprocess.run(pb + ["-e", f"openclaw_restore_from_controller={bad}"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode != 0 and "before touching the gateway" in " ".join(res.stdout.split()), res.stdout[-3000:]
    assert main_pid() == pid, "the gateway was restarted for a refused archive"
    # a verifiable archive whose gateway fails closed (secret file missing): the gate fails, the previous state returns
    nostart = logs / "openclaw-backup-nostart.tar.gz"

    def break_secret(cfg):
        cfg["secrets"]["providers"]["gatewaytoken"]["path"] = "/etc/openclaw/missing.token"
        return cfg
    craft_archive(archive, nostart, break_secret)
    res = subprocess.run(pb + ["-e", f"openclaw_restore_from_controller={nostart}", "-e", "openclaw_restore_ready_timeout=25"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    text = " ".join(res.stdout.split())
    assert res.returncode != 0 and "previous state put back and the gateway is ready again" in text, res.stdout[-4000:]
    assert sh_in(name, env, f"cat {state}/workspace/marker.txt").stdout.strip() == "restore-marker-42"
    assert "missing.token" not in sh_in(name, env, f"cat {state}/openclaw.json").stdout
    # the uploads stay in the backup directory; drop the deliberately broken ones so the drill takes a good archive
    sh_in(name, env, "rm -f /var/backups/openclaw/openclaw-backup-nostart.tar.gz /var/backups/openclaw/flipped.tar.gz")


def check_checklists(name, inv, env):
    """The daily/weekly/monthly checklists run on a real host and report every item; a healthy fresh
    gateway has no FAIL in the daily list."""
    reports = ROOT / "reports" / "checks"
    for period, items in (("daily", 5), ("weekly", 6), ("monthly", 4)):
        before = set(reports.glob(f"{period}-*.json")) if reports.exists() else set()
        res = subprocess.run(["ansible-playbook", f"check-{period}.yml", "-i", str(inv)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
        new = sorted(set(reports.glob(f"{period}-*.json")) - before)
        assert new, f"no {period} report written:\n{res.stdout[-4000:]}"
        rows = json.loads(new[-1].read_text())["results"]
        assert len(rows) == items and all(r["status"] in ("PASS", "WARN", "FAIL") and r["host"] == name for r in rows), rows
        assert (res.returncode == 0) == all(r["status"] != "FAIL" for r in rows), res.stdout[-3000:]
        if period == "daily":
            status = {r["item"]: r["status"] for r in rows}
            assert status["gateway process running"] == "PASS", rows
            assert status["memory within range"] == "PASS", rows
            assert status["all configured channels connected"] == "PASS", rows
            assert res.returncode == 0, res.stdout[-3000:]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0", NO_COLOR="1")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    logs = ROOT / ".cache" / "molecule-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        rc, text = molecule(["test", "-s", scenario, "--destroy", "never"], logs / f"{scenario}-test.log", env)
        assert rc == 0, f"molecule test -s {scenario} failed:\n{text[-6000:]}"
        # the idempotence and verify steps must have run and passed, not been skipped
        assert re.search(r"idempotence\W+Executed: Successful", text), "idempotence did not run:\n" + text[-3000:]
        assert re.search(r"verify\W+Executed: Successful", text), "verify did not run:\n" + text[-3000:]
        # the plays reached the host over SSH as deploy and became root with sudo (a sudo line a task), not podman exec
        name = scenario_host(scenario)[0]
        journal = sh_in(name, env, "journalctl --no-pager -o cat", check=False).stdout
        sudo_tasks = len(re.findall(r"deploy : .*COMMAND=.*BECOME-SUCCESS", journal))
        assert "Accepted publickey for deploy" in journal and sudo_tasks >= 50, \
            f"the scenario did not run its tasks over SSH as deploy with sudo ({sudo_tasks} sudo tasks)"

        rc, text = molecule(["converge", "-s", scenario, "--", "--check", "--diff"], logs / f"{scenario}-check.log", env)
        assert rc == 0, f"--check --diff failed:\n{text[-6000:]}"
        recap = re.findall(r"openclaw-mol-\S+\s*:\s*ok=\d+\s+changed=(\d+)", text)
        assert recap and all(c == "0" for c in recap), f"--check --diff predicts changes:\n{text[-6000:]}"

        check_fleet_health(scenario, env, logs)
    finally:
        molecule(["destroy", "-s", scenario], logs / f"{scenario}-destroy.log", env)
