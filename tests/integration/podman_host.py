"""Disposable systemd test hosts (podman) for integration tests."""

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the venv running the tests: .venv (the newest supported ansible-core), or .venv-oldest under `make oldest`
BIN = Path(sys.executable).parent
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0")


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, env=ENV, **kw)


class PodmanHost:
    def __init__(self, prefix="openclaw-it", primed=None, ssh=True, ssh_dir=None):
        """`primed="<openclaw version>"`: a host with Node.js and that openclaw already installed
        (scripts/build-primed-image.sh), for tests that are not about the install itself.
        `ssh` (default): the inventory reaches the host the production way, over SSH as the image's non-root
        `deploy` account (sudo to root) through a port published on 127.0.0.1, with a key pair made for this host
        (in `ssh_dir`, or a temporary directory); ansible.cfg's pipelining makes a task about 3x cheaper than
        podman exec (bench/connection.py). `ssh=False`: podman exec as root."""
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self._own_ssh_dir = ssh and not ssh_dir
        self.ssh_dir = Path(ssh_dir or tempfile.mkdtemp(prefix="openclaw-ssh-")) if ssh else None
        build = ["build-primed-image.sh", primed] if primed else ["build-host-image.sh"]
        self.image = sh(str(ROOT / "scripts" / build[0]), *build[1:]).stdout.strip().splitlines()[-1]

    def __enter__(self):
        (ROOT / ".cache" / "npm").mkdir(parents=True, exist_ok=True)
        publish = ["-p", "127.0.0.1::22"] if self.ssh_dir else []
        sh("podman", "run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always", *publish,
           "-v", f"{ROOT / '.cache' / 'npm'}:/var/cache/openclaw/npm", self.image)
        try:
            for _ in range(50):
                state = self.run("systemctl is-system-running", check=False).stdout.strip()
                if state in ("running", "degraded"):
                    break
                sh("sleep", "0.2")
            if self.ssh_dir:
                self._authorize_ssh_key()
        except BaseException:
            self.__exit__()  # a failed set-up leaves no container behind (`with` only exits what it entered)
            raise
        return self

    def _authorize_ssh_key(self):
        self.ssh_key = self.ssh_dir / "id_ed25519"
        if not self.ssh_key.exists():
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "openclaw-ops-test", "-f", str(self.ssh_key))
        pub = (self.ssh_dir / "id_ed25519.pub").read_text()
        subprocess.run(["podman", "exec", "-i", self.name, "bash", "-c",
                        "install -d -m 0700 -o deploy -g deploy ~deploy/.ssh && cat > ~deploy/.ssh/authorized_keys"
                        " && chown deploy: ~deploy/.ssh/authorized_keys && systemctl start ssh.service"],
                       input=pub, check=True, capture_output=True, text=True, env=ENV)
        self.ssh_port = int(sh("podman", "port", self.name, "22").stdout.strip().rsplit(":", 1)[1])

    def __exit__(self, *exc):
        sh("podman", "rm", "-f", self.name, check=False)
        if self._own_ssh_dir:
            shutil.rmtree(self.ssh_dir, ignore_errors=True)

    def run(self, script, check=True):
        return sh("podman", "exec", self.name, "bash", "-c", script, check=check)

    def changes(self):
        """Files added or deleted against the image, minus what any login or probe touches
        (ansible's temp dir, systemd's own timer stamps, runtime and log directories)."""
        noise = ("/root/.ansible", "/home/deploy/.ansible", "/home/deploy/.cache", "/var/lib/sudo", "/tmp", "/run",
                 "/var/log", "/var/tmp", "/var/cache/openclaw/npm", "/dev", "/var/lib/systemd")
        out = sh("podman", "diff", self.name).stdout.splitlines()
        return sorted(line for line in out
                      if line[:1] in "AD" and not line.split(maxsplit=1)[-1].startswith(noise))

    def inventory(self, tmp_path, ssh=None, filename="hosts.yml", **hostvars):
        """An inventory for this host: over SSH unless the host was made with `ssh=False` or `ssh=False` is given."""
        ssh = bool(self.ssh_dir) if ssh is None else ssh
        inv = tmp_path / filename
        lines = ["openclaw:", "  hosts:", f"    {self.name}:", "  vars:"]
        if ssh:
            # what a production inventory has (ansible.cfg's pipelining and ControlPersist apply); the known-hosts
            # file stays out of the controller's: every run publishes a new port with new host keys
            lines += ["    ansible_connection: ssh", "    ansible_host: 127.0.0.1", f"    ansible_port: {self.ssh_port}",
                      "    ansible_user: deploy", f"    ansible_ssh_private_key_file: {self.ssh_key}",
                      "    ansible_ssh_common_args: -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no",
                      # two shared cores under three parallel test streams: allow a slow login (default 10 s)
                      "    ansible_ssh_timeout: 30"]
        else:
            lines += ["    ansible_connection: containers.podman.podman"]
        lines += ["    ansible_python_interpreter: /usr/bin/python3",
                 f"    openclaw_nodejs_mirror_url: file://{ROOT}/.cache/node-mirror",
                 f"    openclaw_nodejs_controller_cache_dir: {ROOT}/.cache/node-download"]
        lines += [f"    {k}: {v}" for k, v in hostvars.items()]
        inv.write_text("\n".join(lines) + "\n")
        return inv


def playbook(inventory, *args):
    return sh(str(BIN / "ansible-playbook"), str(ROOT / "deploy.yml"), "-i", str(inventory), *args,
              check=False, cwd=str(ROOT))
