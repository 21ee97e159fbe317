"""The compose deployment as a rootless podman user (issue 17 item 5): deploy.yml, a second deploy.yml with nothing
changed (its port preflight accepts rootless podman's `rootlessport` holder), health.yml and service.yml's
status/restart/stop/start, all by an unprivileged user on the controller with that user's own podman.

The play connects locally and becomes the user (`su`), as an SSH login of that user would run it; the modules run on
the system Python (the controller's venvs live under /root, which the user cannot enter), and podman-compose comes
from a venv of the system Python in .cache/rootless-venv. The user gets what a rootless podman user needs: subuid and
subgid ranges (useradd assigns them), native overlay storage, the project's base image loaded into its own storage,
and a copy of the npm cache it owns (its container's root is the user, who cannot write the controller's cache)."""

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

from podman_host import BIN, ROOT, sh
from real_gateway import install_lock

USER = "openclaw-rl"
HOME = Path("/home") / USER
PROJECT = "openclaw-rootless"
CONTAINER = f"{PROJECT}-gateway"
BASE_IMAGE = "localhost/openclaw-ops-host:latest"
VENV = ROOT / ".cache" / "rootless-venv"


def as_user(cmd, check=True):
    """A shell command as the rootless user, in its home, with a login-like environment."""
    return subprocess.run(["runuser", "-u", USER, "--", "env", "-i", f"HOME={HOME}", f"USER={USER}",
                           "PATH=/usr/local/bin:/usr/bin:/bin", "bash", "-c", f"cd && {cmd}"],
                          capture_output=True, text=True, check=check, timeout=600)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_user():
    """The rootless user with subordinate ids, overlay storage, the base image and its own npm cache; podman-compose
    in a venv of the system Python that the user can run."""
    with install_lock():
        if not (VENV / "bin" / "podman-compose").exists():
            sh("/usr/bin/python3", "-m", "venv", str(VENV))
            sh(str(VENV / "bin" / "pip"), "install", "-q", "podman-compose>=1.0,<2")
    if subprocess.run(["id", USER], capture_output=True).returncode != 0:
        sh("useradd", "-m", "-s", "/bin/bash", USER)
    if USER not in Path("/etc/subuid").read_text():
        sh("usermod", "--add-subuids", "200000-265535", "--add-subgids", "200000-265535", USER)
    conf = HOME / ".config" / "containers" / "storage.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    # podman 4.3 picks vfs for a new rootless user here, whose layers a non-root container user cannot enter
    conf.write_text('[storage]\ndriver = "overlay"\n')
    shutil.rmtree(HOME / "npm-cache", ignore_errors=True)
    shutil.copytree(ROOT / ".cache" / "npm", HOME / "npm-cache", symlinks=True)
    sh("chown", "-R", f"{USER}:{USER}", str(HOME / ".config"), str(HOME / "npm-cache"))
    saved = subprocess.Popen(["podman", "save", BASE_IMAGE], stdout=subprocess.PIPE,
                             env=dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf")))
    loaded = subprocess.run(["runuser", "-u", USER, "--", "bash", "-c", f"cd {HOME} && podman load"], stdin=saved.stdout,
                            capture_output=True, text=True)
    saved.wait()
    assert loaded.returncode == 0 and saved.returncode == 0, loaded.stderr[-2000:]


def inventory(path, port):
    hostvars = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                "ansible_become_user": USER, "ansible_become_method": "ansible.builtin.su"}
    groupvars = {
        "openclaw_gateway_service_manager": "compose",
        "openclaw_gateway_compose_rootless": True,
        "openclaw_gateway_token": "rootless-compose-token-0123456789abcdef0123456789",
        "openclaw_gateway_port": port,
        "openclaw_gateway_compose_project": PROJECT,
        "openclaw_gateway_compose_dir": str(HOME / "openclaw-compose"),
        "openclaw_gateway_compose_base_image": BASE_IMAGE,
        "openclaw_gateway_compose_build_npm_cache": str(HOME / "npm-cache"),
        "openclaw_gateway_compose_command": str(VENV / "bin" / "podman-compose"),
        "openclaw_gateway_compose_enable_boot_service": False,
        "openclaw_gateway_log_dir": str(HOME / "openclaw-compose" / "log"),
        "openclaw_nodejs_controller_cache_dir": str(ROOT / ".cache" / "node-download"),
        "openclaw_nodejs_mirror_url": f"file://{ROOT}/.cache/node-mirror",
        "openclaw_gateway_ready_timeout": 300,
    }
    path.write_text(json.dumps({"openclaw": {"hosts": {"localhost": hostvars}, "vars": groupvars}}))
    return path


def play(inv, name, *args):
    res = subprocess.run([str(BIN / "ansible-playbook"), name, "-i", str(inv), *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1"))
    return res.returncode, res.stdout + res.stderr


def recap(out):
    m = re.search(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return int(m.group(1)), int(m.group(2))


def test_compose_as_a_rootless_podman_user(tmp_path):
    tun = Path("/dev/net/tun")
    assert tun.stat().st_mode & 0o006 == 0o006, "/dev/net/tun is root-only: run `make machine` (rootless networking)"
    prepare_user()
    port = free_port()
    inv = inventory(tmp_path / "rootless.json", port)
    try:
        rc, out = play(inv, "deploy.yml")
        (tmp_path / "deploy.log").write_text(out)
        assert rc == 0, out[-5000:]
        # the default callback wraps the message wherever its length puts the break
        assert re.search(rf"openclaw 2026\.9\.6 ready on 127\.0\.0\.1:{port} after [\d.]+ s \(compose, container "
                         f"{CONTAINER}", " ".join(out.split())), out[-3000:]
        # the user's podman runs it: the container is in the user's storage, the port held by rootlessport
        assert as_user(f"podman container inspect --format '{{{{.State.Status}}}}' {CONTAINER}").stdout.strip() == "running"
        holders = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert "rootlessport" in holders, holders
        token = HOME / "openclaw-compose" / "secrets" / "gateway.token"
        # the token belongs to the container's uid 1000 (the user's subordinate range), readable by it alone
        assert (token.stat().st_mode & 0o777) == 0o400 and token.stat().st_uid not in (0, int(sh("id", "-u", USER).stdout))

        rc, out = play(inv, "deploy.yml")
        assert rc == 0 and recap(out) == (0, 0), out[-4000:]  # preflight accepted rootlessport; nothing changed

        report = tmp_path / "health"
        rc, out = play(inv, "health.yml", "-e", f"openclaw_health_report_dir={report}")
        assert rc == 0, out[-4000:]
        row = json.loads((report / "health.json").read_text())["hosts"][0]
        assert row["healthy"] and row["version"] == "2026.9.6" and row["memory_mb"] > 100 and row["channels"] == "0/0", row

        pids = []
        for action, state, ready in (("status", "running", "true"), ("restart", "running", "true"),
                                     ("stop", "exited", "false"), ("start", "running", "true")):
            rc, out = play(inv, "service.yml", "-e", f"openclaw_service_action={action}")
            flat = " ".join(out.split())
            m = re.search(r"manager=compose state=(\S+) pid=(\d+) memory=(\d+)MB .* ready=(\w+) version=(\S+)", flat)
            assert rc == 0 and m and (m.group(1), m.group(4)) == (state, ready), flat[-3000:]
            if ready == "true":
                assert int(m.group(3)) > 100 and m.group(5) == "2026.9.6", flat[-2000:]
            pids.append(int(m.group(2)))
        assert pids[1] not in (0, pids[0]) and pids[2] == 0 and pids[3] not in (0, pids[1]), pids
    finally:
        as_user(f"{VENV}/bin/podman-compose -f openclaw-compose/docker-compose.yml down -v", check=False)
        as_user("podman system reset -f", check=False)
        subprocess.run(["userdel", "-r", USER], capture_output=True)
    assert subprocess.run(["id", USER], capture_output=True).returncode != 0
