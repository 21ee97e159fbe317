"""The `compose` Molecule scenario: the gateway image built locally, the rendered docker-compose.yml brought up
for real with podman-compose on the controller, readiness through the 127.0.0.1-only mapping, hardening and limits
as the engine reports them, crash recovery by the restart policy (molecule/compose/verify.yml), then
`--check --diff` must predict no change, then the project is removed.

It runs on the controller rather than inside a systemd test host because nested podman would need a privileged
container; the gateway's port is a free one picked here, so it never meets another engineer's gateway."""

import os
import re
import socket
import subprocess
from pathlib import Path

import yaml
from real_gateway import node_bin

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
    node_bin()  # the unpacked Node.js the image build copies (from the project's mirror tarball)
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
        assert re.search(r"compose gateway 2026\.9\.6 ready on 127\.0\.0\.1:\d+; back [\d.]+ s\s+after SIGKILL", text)

        rc, text = molecule(["converge", "-s", "compose", "--", "--check", "--diff"], logs / "compose-check.log", env)
        assert rc == 0, f"--check --diff failed:\n{text[-6000:]}"
        recap = re.findall(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)", text)
        assert recap and all(c == "0" for c in recap), f"--check --diff predicts changes:\n{text[-6000:]}"

        check_service_operations(env, logs)
    finally:
        molecule(["destroy", "-s", "compose"], logs / "compose-destroy.log", env)
    gone = subprocess.run(["podman", "container", "exists", "openclaw-mol-compose-gateway"], env=env)
    assert gone.returncode == 1, "the compose container was left behind"


def scenario_vars(env):
    """The scenario's group_vars with molecule's ${VAR} / ${VAR:-default} filled in, for a plain inventory."""
    conf = yaml.safe_load((ROOT / "molecule" / "compose" / "molecule.yml").read_text())
    values = dict(env, MOLECULE_PROJECT_DIRECTORY=str(ROOT))

    def fill(v):
        return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: values.get(m.group(1), m.group(2) or ""), v) \
            if isinstance(v, str) else v
    return {k: fill(v) for k, v in conf["provisioner"]["inventory"]["group_vars"]["openclaw"].items()}


def check_service_operations(env, logs):
    """service.yml drives the compose gateway: status, restart (new container PID, ready), stop, start."""
    inv = logs / "compose-service-inventory.yml"
    inv.write_text(yaml.safe_dump({"openclaw": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": str(ROOT / ".venv" / "bin" / "python")}},
        "vars": scenario_vars(env)}}))

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
