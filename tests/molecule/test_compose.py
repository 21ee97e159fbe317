"""The `compose` Molecule scenario: the real deploy.yml in compose mode (molecule/compose/converge.yml imports it):
preflight, no host Node.js/install/configure, the gateway image built locally, the rendered docker-compose.yml
brought up for real with podman-compose on the controller, readiness through the 127.0.0.1-only mapping, the
monitoring role's printed skip; idempotence (the second deploy.yml must pass the port preflight although the
engine's conmon holds the port); hardening and limits as the engine reports them, crash recovery by the restart
policy (molecule/compose/verify.yml); `--check --diff` must predict no change; health.yml reports the container
healthy with its memory; a foreign listener on the gateway port and a version pin that differs from the running
image both fail preflight without changing anything; service.yml operations; backup and restore of the state volume;
token rotation without a restart; upgrade and rollback (a real failing upgrade rolled back to the old image and state,
a successful one, rollback.yml); the daily checklist and a support bundle on that history; then the project is
removed.

It runs on the controller rather than inside a systemd test host because nested podman would need a privileged
container; the gateway's port is a free one picked here, so it never meets another engineer's gateway."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import yaml
from archive_damage import damaged_copy
from molecule_config import scenario_config
from real_gateway import NODE_VERSION

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def molecule(args, log, env):
    with open(log, "w") as fh:
        res = subprocess.run(["molecule", *args], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=1800)
    return res.returncode, log.read_text()


def test_compose_scenario():
    # the role fetches this tarball (checksum-verified) into the image's build context
    mirror = ROOT / ".cache" / "node-mirror" / f"v{NODE_VERSION}" / f"node-v{NODE_VERSION}-linux-x64.tar.xz"
    assert mirror.exists(), f"{mirror} is missing: run the project's node mirror setup first"
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0", NO_COLOR="1", OPENCLAW_COMPOSE_PORT=str(free_port()))
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    logs = ROOT / ".cache" / "molecule-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        rc, text = molecule(["test", "-s", "compose", "--destroy", "never"], logs / "compose-test.log", env)
        assert rc == 0, f"molecule test -s compose failed:\n{text[-6000:]}"
        assert re.search(r"idempotence\W+Executed: Successful", text), "idempotence did not run:\n" + text[-3000:]
        assert re.search(r"verify\W+Executed: Successful", text), "verify did not run:\n" + text[-3000:]
        # the callback wraps long messages wherever their length puts the break: match on normalised whitespace
        flat = " ".join(text.split())
        assert re.search(r"compose gateway 2026\.9\.6 ready on 127\.0\.0\.1:\d+; back [\d.]+ s after SIGKILL", flat)
        # deploy.yml ran: no host runtime/install/configure, monitoring skipped with its note, version read in the container
        assert re.search(r"openclaw 2026\.9\.6 ready on 127\.0\.0\.1:\d+ after [\d.]+ s \(compose, container", flat), \
            text[-3000:]
        assert "openclaw_monitoring skipped on localhost" in text
        assert re.search(r"Move the verified runtime into place\] \*+\n(?:.*\n){0,2}?changed: \[localhost\]", text), \
            "Node.js was not unpacked into the build context"
        for phase in ("Node.js runtime", "openclaw_gateway : Install", "openclaw_gateway : Configure"):
            assert re.search(re.escape(phase) + r"\] \*+\n(?:.*\n){0,2}?skipping: \[localhost\]", text), phase
        # the idempotence run is the second deploy.yml: its port preflight saw our container's holder and passed
        idem = text[text.index("[compose > idempotence] Executing"):]
        assert re.search(r"Report another process on the gateway port\] \*+\n(?:.*\n){0,2}?skipping: \[localhost\]", idem)
        holders = subprocess.run(["ss", "-Hltnp", f"sport = :{env['OPENCLAW_COMPOSE_PORT']}"], capture_output=True, text=True)
        assert "conmon" in holders.stdout, holders.stdout

        rc, text = molecule(["converge", "-s", "compose", "--", "--check", "--diff"], logs / "compose-check.log", env)
        assert rc == 0, f"--check --diff failed:\n{text[-6000:]}"
        recap = re.findall(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", text)
        assert recap and all(c == "0" for c in recap), f"--check --diff predicts changes:\n{text[-6000:]}"

        inv = write_inventory(env, logs / "compose-service-inventory.yml")
        check_health(env, logs, inv)
        check_preflight_refusals(env, logs)
        check_service_operations(env, logs, inv)
        check_backup_and_restore(env, logs, inv)
        check_token_rotation(env, logs, inv)
        check_upgrade_and_rollback(env, logs, inv)
        check_daily_checklist_and_diagnose(env, logs, inv)
    finally:
        molecule(["destroy", "-s", "compose"], logs / "compose-destroy.log", env)
    gone = subprocess.run(["podman", "container", "exists", "openclaw-mol-compose-gateway"], env=env)
    assert gone.returncode == 1, "the compose container was left behind"


def scenario_vars(env):
    """The scenario's group_vars with molecule's ${VAR} / ${VAR:-default} filled in, for a plain inventory."""
    conf = scenario_config("compose")  # molecule.yml over the shared base config
    values = dict(env, MOLECULE_PROJECT_DIRECTORY=str(ROOT))

    def fill(v):
        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: values.get(m.group(1), m.group(2) or ""), v) \
            if isinstance(v, str) else v
    return {k: fill(v) for k, v in conf["provisioner"]["inventory"]["group_vars"]["openclaw"].items()}


def write_inventory(env, path, **overrides):
    """A plain inventory of the controller with the scenario's group_vars (and `overrides`)."""
    path.write_text(yaml.safe_dump({"openclaw": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}},
        "vars": {**scenario_vars(env), **overrides}}}))
    return path


def playbook(env, *args, timeout=900):
    res = subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return res.returncode, res.stdout + res.stderr


def check_health(env, logs, inv):
    """health.yml reports the compose gateway healthy, with the version read inside the container and its memory."""
    report = logs / "compose-health"
    rc, out = playbook(env, "health.yml", "-i", str(inv), "-e", f"openclaw_health_report_dir={report}")
    assert rc == 0, f"health.yml failed on the compose gateway:\n{out[-4000:]}"
    row = json.loads((report / "health.json").read_text())["hosts"][0]
    assert row["healthy"] and row["live"] and row["ready"], row
    assert row["version"] == "2026.9.6", row
    assert row["channels"] == "0/0", row  # the deep check answered (none configured), not "?/?"
    assert row["memory_mb"] > 100, row  # the gateway's processes inside the container (~0.8 GB idle)
    assert isinstance(row["restarts"], int), row


def recap_changed(out):
    return re.findall(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", out)


def check_preflight_refusals(env, logs):
    """deploy.yml refuses, before any change: a foreign listener on the gateway port; a pin that differs from the
    running container's image version."""
    port = free_port()
    project_dir = ROOT / ".cache" / "molecule-compose" / "foreign"
    inv = write_inventory(env, logs / "compose-foreign-inventory.yml", openclaw_gateway_port=port,
                          openclaw_gateway_compose_project="openclaw-mol-foreign",
                          openclaw_gateway_compose_dir=str(project_dir))
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        rc, out = playbook(env, "deploy.yml", "-i", str(inv))
    finally:
        server.terminate()
        server.wait(timeout=10)
    flat = " ".join(out.split())
    assert rc != 0, f"deploy.yml did not refuse a foreign listener on {port}:\n{out[-4000:]}"
    assert re.search(rf"Port {port} is already in use by another process \(pid {server.pid} .*http\.server", flat), flat[-3000:]
    assert recap_changed(out) == ["0"], out[-3000:]
    assert not project_dir.exists(), "preflight failed but the project directory was created"
    gone = subprocess.run(["podman", "container", "exists", "openclaw-mol-foreign-gateway"], env=env)
    assert gone.returncode == 1

    inv = write_inventory(env, logs / "compose-pin-inventory.yml", openclaw_gateway_version="2026.9.5")
    rc, out = playbook(env, "deploy.yml", "-i", str(inv))
    flat = " ".join(out.split())
    assert rc != 0 and "openclaw 2026.9.6 is active on this host but openclaw_gateway_version pins 2026.9.5" in flat, flat[-3000:]
    assert recap_changed(out) == ["0"], out[-3000:]


def check_backup_and_restore(env, logs, inv):
    """The state volume is backed up and restored like a systemd host's state dir (issue 17 item 1): backup.yml
    writes a verified archive of the volume with the marker file in it; with the volume wiped (the gateway starts on
    an empty state), restore.yml brings the marker back and the container ready; a bit-flipped copy of the archive is
    refused before the container is touched (same PID, same state)."""
    container = "openclaw-mol-compose-gateway"

    def podman(*args):
        return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True).stdout.strip()

    def pid():
        return podman("inspect", "--format", "{{.State.Pid}}", container)

    volume = podman("inspect", "--format",
                    '{{ range .Mounts }}{{ if eq .Destination "/home/node/.openclaw" }}{{ .Source }}{{ end }}{{ end }}',
                    container)
    assert volume.startswith("/") and Path(volume).is_dir(), volume
    marker = Path(volume) / "compose-marker.txt"
    marker.write_text("kept\n")
    os.chown(marker, 1000, 1000)
    backups = logs.parent / "molecule-compose" / "backups"
    shutil.rmtree(backups, ignore_errors=True)
    extra = ["-e", f"openclaw_backup_dir={backups}", "-e", f"openclaw_restore_backup_dir={backups}"]
    rc, out = playbook(env, "backup.yml", "-i", str(inv), *extra)
    assert rc == 0, f"backup.yml failed on the compose gateway:\n{out[-4000:]}"
    full = sorted(backups.glob("openclaw-backup-*.tar.gz"))
    assert len(full) == 1, sorted(p.name for p in backups.iterdir())
    with tarfile.open(full[0]) as tf:
        names = tf.getnames()
    assert any(n.endswith("compose-marker.txt") for n in names), names[:20]

    # wipe the volume: the gateway comes back on an empty state, without the marker
    podman("stop", container)
    for child in Path(volume).iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    podman("start", container)
    assert not marker.exists()

    # a bit-flipped copy is refused before the container is touched
    flipped = backups / f"flipped-{full[0].name}"
    damaged_copy(full[0], flipped)
    before = pid()
    rc, out = playbook(env, "restore.yml", "-i", str(inv), *extra, "-e", f"openclaw_restore_archive={flipped}")
    assert rc != 0 and "before touching the gateway" in " ".join(out.split()), out[-4000:]
    assert pid() == before and not marker.exists()

    rc, out = playbook(env, "restore.yml", "-i", str(inv), *extra)
    assert rc == 0, f"restore.yml failed on the compose gateway:\n{out[-4000:]}"
    assert "restored and ready" in out, out[-3000:]
    assert marker.read_text() == "kept\n" and marker.stat().st_uid == 1000
    assert pid() != before
    shutil.rmtree(backups, ignore_errors=True)


def check_token_rotation(env, logs, inv):
    """rotate-token.yml on the compose gateway (issue 17 item 3): the new token is written into the compose secret in
    place and `openclaw secrets reload` runs in the container; the module proves the new token accepted and the old
    one rejected; a 10 Hz readiness poller (the host library's, scripts/readiness-poller.py) sees 0 failed probes and
    the container keeps its PID; the token handed to the operator is the one in the secret file."""
    container = "openclaw-mol-compose-gateway"
    secret = ROOT / ".cache" / "molecule-compose" / "project" / "secrets" / "gateway.token"
    old = secret.read_text().strip()

    def pid():
        return subprocess.run(["podman", "inspect", "--format", "{{.State.Pid}}", container], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    before = pid()
    stop = logs / "compose-rotation-poller.stop"
    stop.unlink(missing_ok=True)
    poller = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "readiness-poller.py"), str(stop),
                               env["OPENCLAW_COMPOSE_PORT"]], stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    store = logs / "compose-tokens"
    shutil.rmtree(store, ignore_errors=True)
    rc, out = playbook(env, "rotate-token.yml", "-i", str(inv), "-e", f"openclaw_token_store={store}")
    time.sleep(2)
    stop.touch()
    stats = json.loads(poller.communicate(timeout=60)[0])
    assert rc == 0, f"rotate-token.yml failed on the compose gateway:\n{out[-4000:]}"
    assert "token rotated without a restart: new accepted, old rejected" in out, out[-3000:]
    new = secret.read_text().strip()
    assert new != old and len(new) >= 32 and (store / "localhost.token").read_text().strip() == new
    assert old not in out and new not in out
    assert stats["probes"] > 20 and stats["failed"] == 0, stats
    assert pid() == before, "the rotation restarted the container"


def check_service_operations(env, logs, inv):
    """service.yml drives the compose gateway: status, restart (new container PID, ready), stop, start."""

    def service(action):
        res = subprocess.run(["ansible-playbook", "service.yml", "-i", str(inv), "-e", f"openclaw_service_action={action}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
        flat = " ".join(res.stdout.split())
        assert res.returncode == 0, f"service.yml {action} failed:\n{res.stdout[-4000:]}"
        m = re.search(r"manager=compose state=(\S+) pid=(\d+) .* ready=(\w+)", flat)
        assert m, flat[-3000:]
        return m.group(1), int(m.group(2)), m.group(3)

    state, pid, ready = service("status")
    assert (state, ready) == ("running", "true") and pid > 0
    state, pid2, ready = service("restart")
    assert (state, ready) == ("running", "true") and pid2 not in (0, pid)
    state, _pid, ready = service("stop")
    assert state in ("exited", "stopped") and ready == "false"
    state, _pid, ready = service("start")
    assert (state, ready) == ("running", "true")


def check_upgrade_and_rollback(env, logs, inv):
    """upgrade.yml and rollback.yml on the compose gateway (issue 17 item 2).
    1. 2026.9.6 -> 2026.9.5 is the real failing case: 9.5 refuses the state 9.6 migrated (exit 78). The 9.5 image is
       built while 9.6 serves, the volume is backed up, the switch fails, and the automatic rollback puts the 9.6
       image back with the pre-upgrade state: the play fails saying so, 9.6 is ready, the marker is there.
    2. On a 9.5 gateway (fresh volume) with a marker, 2026.9.5 -> 2026.9.6 succeeds with the marker kept.
    3. rollback.yml puts 9.5 back with its pre-upgrade state; a second rollback.yml refuses with nothing changed."""
    container = "openclaw-mol-compose-gateway"
    backups = logs.parent / "molecule-compose" / "upgrade-backups"
    shutil.rmtree(backups, ignore_errors=True)
    extra = ["-e", f"openclaw_upgrade_backup_dir={backups}"]

    def podman(*args):
        return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True).stdout.strip()

    def running():
        """(image, status) of the project's container."""
        return tuple(podman("inspect", "--format", "{{.ImageName}} {{.State.Status}}", container).split())

    volume = Path(podman("inspect", "--format",
                         '{{ range .Mounts }}{{ if eq .Destination "/home/node/.openclaw" }}{{ .Source }}{{ end }}{{ end }}',
                         container))
    marker = volume / "workspace" / "upgrade-marker.txt"

    def put_marker(text):
        marker.parent.mkdir(exist_ok=True)
        marker.write_text(text)
        for p in (marker.parent, marker):
            os.chown(p, 1000, 1000)

    put_marker("state of 9.6\n")
    rc, out = playbook(env, "upgrade.yml", "-i", str(inv), *extra, "-e", "openclaw_upgrade_version=2026.9.5")
    (logs / "compose-upgrade-1-failing.log").write_text(out)
    flat = " ".join(out.split())
    assert rc != 0, "the upgrade to 2026.9.5 on a 2026.9.6 state did not fail:\n" + out[-4000:]
    # caught exited 78, or seen restarting: the wait ends early either way (not after openclaw_upgrade_ready_timeout)
    assert re.search(r"exited with status 78|restarted \d+ times without becoming ready", flat), flat[-4000:]
    waited = float(re.search(r"unhealthy after ([\d.]+) s", flat).group(1))
    assert waited < 90, f"the wait for a refusing 2026.9.5 went on for {waited} s"
    assert "Upgrade 2026.9.6 -> 2026.9.5 failed and was rolled back: openclaw 2026.9.6 runs again" in flat, flat[-3000:]
    assert running() == ("localhost/openclaw-gateway:2026.9.6", "running")
    assert marker.read_text() == "state of 9.6\n"
    assert len(list(backups.glob("openclaw-preupgrade-2026.9.6-*.tar.gz"))) == 1
    podman("image", "exists", "localhost/openclaw-gateway:2026.9.5")  # built ahead, kept for inspection

    # a 9.5 gateway on a fresh volume
    podman("rm", "-f", container)
    for child in volume.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    rc, out = playbook(env, "deploy.yml", "-i", str(inv), "-e", "openclaw_gateway_version=2026.9.5")
    assert rc == 0 and "openclaw 2026.9.5 ready" in out, out[-4000:]
    put_marker("state of 9.5\n")

    rc, out = playbook(env, "upgrade.yml", "-i", str(inv), *extra, "-e", "openclaw_upgrade_version=2026.9.6")
    (logs / "compose-upgrade-2.log").write_text(out)
    assert rc == 0 and "upgraded 2026.9.5 -> 2026.9.6" in out, out[-4000:]
    assert running() == ("localhost/openclaw-gateway:2026.9.6", "running")
    assert marker.read_text() == "state of 9.5\n"
    record = json.loads((ROOT / ".cache" / "molecule-compose" / "project" / "upgrade-record.json").read_text())
    assert record["status"] == "upgraded" and record["from_version"] == "2026.9.5", record
    assert Path(record["backup_archive"]).parent == backups

    rc, out = playbook(env, "rollback.yml", "-i", str(inv))
    (logs / "compose-upgrade-3-rollback.log").write_text(out)
    assert rc == 0 and "rolled back 2026.9.6 -> 2026.9.5 with its pre-upgrade state" in out, out[-4000:]
    assert running() == ("localhost/openclaw-gateway:2026.9.5", "running")
    assert marker.read_text() == "state of 9.5\n"
    pid = podman("inspect", "--format", "{{.State.Pid}}", container)
    rc, out = playbook(env, "rollback.yml", "-i", str(inv))
    assert rc != 0 and "was already rolled back. Nothing was changed." in " ".join(out.split()), out[-3000:]
    assert podman("inspect", "--format", "{{.State.Pid}}", container) == pid


def check_daily_checklist_and_diagnose(env, logs, inv):
    """check-daily.yml and diagnose.yml on the compose gateway after its history (backups, a restore, a token rotation,
    a failed upgrade rolled back, an upgrade and an operator rollback; issue 17 item 4): the checklist has no FAIL,
    the container is the gateway process and its processes the memory, the gateway's CLI answers inside the container
    (channels counted); the support bundle holds the versions and the config check read inside the container, and
    not the token."""
    reports = logs / "compose-checks"
    shutil.rmtree(reports, ignore_errors=True)
    rc, out = playbook(env, "check-daily.yml", "-i", str(inv), "-e", f"openclaw_check_report_dir={reports}")
    (logs / "compose-check-daily.log").write_text(out)
    assert rc == 0, f"check-daily.yml failed on the compose gateway:\n{out[-4000:]}"
    rows = {r["item"]: r for r in json.loads(next(reports.glob("daily-*.json")).read_text())["results"]}
    assert all(r["status"] != "FAIL" for r in rows.values()), rows
    assert rows["gateway process running"]["status"] == "PASS", rows
    assert "container openclaw-mol-compose-gateway running" in rows["gateway process running"]["detail"], rows
    assert rows["all configured channels connected"]["status"] == "PASS", rows  # `openclaw health --json` inside
    memory = rows["memory within range"]
    assert memory["status"] == "PASS" and int(memory["detail"].split()[0]) > 100, memory

    bundles = logs / "compose-diagnose"
    shutil.rmtree(bundles, ignore_errors=True)
    rc, out = playbook(env, "diagnose.yml", "-i", str(inv), "-e", f"openclaw_diagnose_dir={bundles}")
    (logs / "compose-diagnose.log").write_text(out)
    assert rc == 0, f"diagnose.yml failed on the compose gateway:\n{out[-4000:]}"
    bundle = next((bundles / "localhost").glob("openclaw-diagnose-*.tar.gz"))
    token = (ROOT / ".cache" / "molecule-compose" / "project" / "secrets" / "gateway.token").read_text().strip()
    with tarfile.open(bundle) as tf:
        files = {Path(m.name).name: tf.extractfile(m).read().decode() for m in tf.getmembers() if m.isfile()}
    assert token not in "".join(files.values())
    assert "openclaw: OpenClaw 2026.9.5" in files["versions.txt"], files["versions.txt"]  # the container's CLI
    assert '"valid": true' in files["config-validate.json"], files["config-validate.json"][:500]
    summary = json.loads(files["summary.json"])
    assert summary["class"] != "P0" and summary["facts"]["live"] and summary["facts"]["memory_bytes"] > 100 << 20, summary
