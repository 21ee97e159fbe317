"""`openclaw-ops` (ansible-runner) against one real podman systemd host running the real gateway:
deploy and health pass with the host ok at the pinned version, backup reports its archives, upgrade to the
running version has nothing to do, and once the gateway is stopped health exits non-zero with the host
failed; a bad input fails in preflight. Plus an unreachable host, and `ansible-builder create` of the
execution environment."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest
from podman_host import BIN, ROOT, PodmanHost

CLI = BIN / "openclaw-ops"
TOKEN = "cli-test-token-0123456789abcdef0123456789"


def env():
    e = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
             ANSIBLE_PIPELINING="1")
    e["PATH"] = f"{BIN}:{e['PATH']}"
    return e


def openclaw_ops(tmp, command, inventory, *extra, timeout=900):
    """Run the installed console script from a directory outside the checkout (as a CI job would)."""
    report = tmp / f"{command}.json"
    report.unlink(missing_ok=True)
    # runner's artifacts (every event) stay in pytest's temp dir for a post-mortem
    res = subprocess.run([str(CLI), command, "-i", str(inventory), "--json-report", str(report),
                          "--artifact-dir", str(tmp / f"artifacts-{command}"), *extra], cwd=tmp,
                         env=env(), capture_output=True, text=True, timeout=timeout)
    return res, (json.loads(report.read_text()) if report.exists() else None)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    with PodmanHost(prefix="openclaw-cli", primed="2026.9.6") as h:  # removed (podman rm -f) on exit, pass or fail
        # the gateway is ready in ~7 s on an idle machine; 2 shared cores under parallel test runs took > 120 s
        inv = h.inventory(tmp, openclaw_gateway_token=TOKEN, openclaw_gateway_service_scope="system",
                          openclaw_gateway_ready_timeout=300)
        yield h, inv, tmp


def test_deploy_backup_health_then_health_fails_when_the_gateway_stops(host):
    h, inv, tmp = host
    res, rep = openclaw_ops(tmp, "deploy", inv, "--log", str(tmp / "deploy.log"))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    gw = rep["hosts"][h.name]
    assert rep["ok"] and rep["command"] == "deploy" and rep["rc"] == 0
    assert gw["result"] == "ok" and gw["version"] == "2026.9.6" and gw["ready"] is True and gw["changed"], gw
    assert gw["duration"] > 0 and gw["failed_task"] is None
    # live progress: one line per task result with the host and the status, then the table
    assert f"{h.name}  changed   openclaw_gateway : Render the hardened system unit" in res.stdout
    assert "Wait for /readyz and check /startupz reports 2026.9.6" in res.stdout
    assert "OK: 1 ok, 0 failed, 0 unreachable" in res.stdout
    assert "PLAY RECAP" in (tmp / "deploy.log").read_text()  # --log keeps ansible-playbook's own output

    # backup.yml takes one archive per backup set (a loop) and copies them to the controller store
    store = tmp / "store"
    res, rep = openclaw_ops(tmp, "backup", inv, "-e", "openclaw_backup_fetch=true", "-e", f"openclaw_backup_store={store}")
    assert res.returncode == 0, res.stdout[-4000:]
    gw = rep["hosts"][h.name]
    paths = gw["backup_paths"]
    assert paths and all(p.startswith("/var/backups/openclaw/openclaw-") for p in paths), gw
    assert gw["backup_path"] == paths[-1] and paths[-1] in res.stdout
    assert sorted(p.name for p in (store / h.name).iterdir()) == sorted(p.rsplit("/", 1)[-1] for p in paths)
    assert h.run(f"for f in {' '.join(paths)}; do test -s $f || exit 1; done", check=False).returncode == 0

    res, rep = openclaw_ops(tmp, "health", inv, "--limit", h.name)
    assert res.returncode == 0, res.stdout[-4000:]
    gw = rep["hosts"][h.name]
    assert gw["result"] == "ok" and gw["version"] == "2026.9.6" and gw["ready"] is True and not gw["changed"], gw
    # --limit also leaves out the report play on localhost (health.yml's own failure gate): no controller entry
    assert rep["controller"] is None and rep["limit"] == h.name

    # upgrade to the version that runs: the module's plan says there is nothing to do
    res, rep = openclaw_ops(tmp, "upgrade", inv, "-e", "openclaw_upgrade_version=2026.9.6")
    assert res.returncode == 0, res.stdout[-4000:]
    gw = rep["hosts"][h.name]
    assert gw["result"] == "ok" and (gw["from_version"], gw["to_version"]) == ("2026.9.6", "2026.9.6"), gw
    assert gw["rolled_back"] is False and not gw["changed"], gw

    h.run("systemctl stop openclaw-gateway.service")
    res, rep = openclaw_ops(tmp, "health", inv)
    assert res.returncode == 1, res.stdout[-4000:]
    gw = rep["hosts"][h.name]
    assert not rep["ok"] and rep["summary"] == {"ok": 0, "failed": 1, "unreachable": 0}
    assert gw["result"] == "failed" and gw["ready"] is False, gw
    assert gw["msg"] == "unit openclaw-gateway.service is inactive; /healthz connection refused", gw
    assert f"{h.name}  UNHEALTHY" in res.stdout and "FAILED: 0 ok, 1 failed" in res.stdout
    assert rep["controller"]["result"] == "failed" and f"Unhealthy gateways: {h.name}" in rep["controller"]["msg"]
    # with --limit health.yml's report play on localhost does not run; the limited host's own gate fails the run
    res, rep = openclaw_ops(tmp, "health", inv, "--limit", h.name)
    assert res.returncode == 1 and rep["rc"] != 0 and rep["hosts"][h.name]["result"] == "failed", res.stdout[-3000:]

    # a bad input fails in preflight: non-zero, the failed task and its message in the report
    res, rep = openclaw_ops(tmp, "deploy", inv, "-e", "openclaw_gateway_port=0")
    assert res.returncode == 1, res.stdout[-4000:]
    gw = rep["hosts"][h.name]
    assert gw["failed_task"] == "openclaw_gateway : Check openclaw_gateway_port", gw
    assert gw["msg"] == "openclaw_gateway_port must be an integer between 1 and 65535 (got 0).", gw


def test_unreachable_host_and_missing_playbook(tmp_path):
    """No container behind the name: unreachable, exit 1. No host matched: exit 1. A playbook missing from the
    checkout: exit 2."""
    inv = tmp_path / "hosts.yml"
    inv.write_text("openclaw:\n  hosts:\n    openclaw-cli-absent:\n  vars:\n"
                   "    ansible_connection: containers.podman.podman\n")
    res, rep = openclaw_ops(tmp_path, "health", inv, timeout=300)
    assert res.returncode == 1, res.stdout[-3000:]
    assert rep["hosts"]["openclaw-cli-absent"]["result"] == "unreachable"
    # no host matched: ansible-playbook's own error is shown, exit 1
    res, rep = openclaw_ops(tmp_path, "health", inv, "--limit", "nomatch", timeout=120)
    assert res.returncode == 1 and rep["hosts"] == {} and not rep["ok"], res.stdout
    assert "leaves us with no hosts to target" in res.stdout and "\x1b[" not in res.stdout
    # a checkout without the subcommand's playbook: a usage error (2), no report
    fake = tmp_path / "checkout"
    fake.mkdir()
    (fake / "ansible.cfg").write_text("[defaults]\n")
    (fake / "deploy.yml").write_text("---\n")
    res, rep = openclaw_ops(tmp_path, "upgrade", inv, "--project-dir", str(fake), timeout=60)
    assert res.returncode == 2 and rep is None and "upgrade.yml does not exist in this checkout" in res.stderr


def test_sigterm_cancels_the_playbook(tmp_path):
    """A cancelled CI job (SIGTERM): ansible-playbook and its task stop, the report says cancelled, exit 1."""
    proj = tmp_path / "checkout"
    proj.mkdir()
    (proj / "ansible.cfg").write_text("[defaults]\n")
    (proj / "deploy.yml").write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                                     "    - ansible.builtin.command: sleep 47.5\n      changed_when: false\n")
    report = tmp_path / "r.json"
    proc = subprocess.Popen([str(CLI), "deploy", "-i", "gw-local,", "-e", "ansible_connection=local",
                             "-e", f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}",
                             "--project-dir", str(proj), "--json-report", str(report)],
                            cwd=tmp_path, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "sleep 47.5" not in subprocess.run(
            ["ps", "-eo", "args"], capture_output=True, text=True).stdout:
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    rep = json.loads(report.read_text())
    assert rep["runner_status"] == "canceled" and not rep["ok"] and "cancelled by a signal" in out
    assert "sleep 47.5" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_ansible_builder_create(tmp_path):
    """The execution environment definition is accepted by ansible-builder (building needs a registry)."""
    builder = shutil.which("ansible-builder", path=str(BIN))
    assert builder, "ansible-builder is in the test extra of pyproject.toml"
    ctx = tmp_path / "context"
    res = subprocess.run([builder, "create", "-f", str(ROOT / "execution-environment.yml"), "-c", str(ctx)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    containerfile = (ctx / "Containerfile").read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.17,<2.22 ansible-runner>=2.4,<3"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.12"' in containerfile and "introspect" in containerfile
    assert "jsonschema>=4.18,<5" in (ctx / "_build" / "requirements.txt").read_text()
    assert "openssh-clients [platform:rpm]" in (ctx / "_build" / "bindep.txt").read_text()
