"""Disposable systemd test hosts (podman) for integration tests."""

import os
import subprocess
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0")


def sh(*cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, env=ENV, **kw)


class PodmanHost:
    def __init__(self, prefix="openclaw-it", primed=None):
        """`primed="<openclaw version>"`: a host with Node.js and that openclaw already installed
        (scripts/build-primed-image.sh), for tests that are not about the install itself."""
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        build = ["build-primed-image.sh", primed] if primed else ["build-host-image.sh"]
        self.image = sh(str(ROOT / "scripts" / build[0]), *build[1:]).stdout.strip().splitlines()[-1]

    def __enter__(self):
        (ROOT / ".cache" / "npm").mkdir(parents=True, exist_ok=True)
        sh("podman", "run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always",
           "-v", f"{ROOT / '.cache' / 'npm'}:/var/cache/openclaw/npm", self.image)
        for _ in range(50):
            state = self.run("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            sh("sleep", "0.2")
        return self

    def __exit__(self, *exc):
        sh("podman", "rm", "-f", self.name, check=False)

    def run(self, script, check=True):
        return sh("podman", "exec", self.name, "bash", "-c", script, check=check)

    def changes(self):
        """Files added or deleted against the image, minus what any login or probe touches
        (ansible's temp dir, systemd's own timer stamps, runtime and log directories)."""
        noise = ("/root/.ansible", "/tmp", "/run", "/var/log", "/var/tmp", "/var/cache/openclaw/npm", "/dev",
                 "/var/lib/systemd")
        out = sh("podman", "diff", self.name).stdout.splitlines()
        return sorted(line for line in out
                      if line[:1] in "AD" and not line.split(maxsplit=1)[-1].startswith(noise))

    def inventory(self, tmp_path, **hostvars):
        inv = tmp_path / "hosts.yml"
        lines = ["openclaw:", "  hosts:", f"    {self.name}:", "  vars:",
                 "    ansible_connection: containers.podman.podman",
                 "    ansible_python_interpreter: /usr/bin/python3",
                 f"    openclaw_nodejs_mirror_url: file://{ROOT}/.cache/node-mirror",
                 f"    openclaw_nodejs_controller_cache_dir: {ROOT}/.cache/node-download"]
        lines += [f"    {k}: {v}" for k, v in hostvars.items()]
        inv.write_text("\n".join(lines) + "\n")
        return inv


def playbook(inventory, *args):
    return sh(str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / "deploy.yml"), "-i", str(inventory), *args,
              check=False, cwd=str(ROOT))
