"""Starts the real OpenClaw gateway (npm package) on the controller's loopback for integration
tests and benchmarks. Node.js comes from the project's mirror tarball (the same file the
nodejs role installs), openclaw from the npm registry through the shared npm cache; both are
cached under .cache/ so only the first run installs."""

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_VERSION = "24.21.0"
OPENCLAW_VERSION = "2026.9.6"
CACHE = ROOT / ".cache"


@contextlib.contextmanager
def install_lock():
    """Parallel test workers share the controller-side installs below: one installs, the others wait."""
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / ".controller-install.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def node_bin():
    dest = CACHE / "controller-node" / f"v{NODE_VERSION}"
    if (dest / "bin" / "node").exists():
        return dest / "bin"
    with install_lock():
        return _node_bin(dest)


def _node_bin(dest):
    if not (dest / "bin" / "node").exists():
        tarball = CACHE / "node-mirror" / f"v{NODE_VERSION}" / f"node-v{NODE_VERSION}-linux-x64.tar.xz"
        CACHE.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=CACHE))
        with tarfile.open(tarball) as tf:
            tf.extractall(tmp, filter="data")
        dest.parent.mkdir(parents=True, exist_ok=True)
        (tmp / f"node-v{NODE_VERSION}-linux-x64").rename(dest)
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / "bin"


def openclaw_cli(version=OPENCLAW_VERSION):
    prefix = CACHE / "controller-openclaw" / version
    cli = prefix / "node_modules" / ".bin" / "openclaw"
    if cli.exists():
        return cli
    bin_dir = node_bin()
    with install_lock():
        return _openclaw_cli(version, prefix, cli, bin_dir)


def _openclaw_cli(version, prefix, cli, bin_dir):
    if not cli.exists():
        partial = prefix.with_name(version + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
        subprocess.run(["npm", "install", "--prefix", str(partial), "--cache", str(CACHE / "npm"), "--no-fund",
                        "--no-audit", "--loglevel=error", f"openclaw@{version}"], check=True, env=env)
        partial.rename(prefix)
    return cli


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealGateway:
    """`with RealGateway() as gw:` -> gw.port, gw.env, gw.cli, gw.token, gw.log_file."""

    def __init__(self, token="integration-gateway-token-0123456789abcdef", admin_rpc=False):
        self.token = token
        self.cli = str(openclaw_cli())
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="openclaw-it-"))
        self.state = self.dir / "state"
        self.state.mkdir(mode=0o700)
        self.token_file = self.dir / "gateway.token"
        self.token_file.write_text(token)
        self.token_file.chmod(0o600)
        self.log_file = self.dir / "openclaw.log"
        self.config = self.state / "openclaw.json"
        config = {
            "gateway": {"mode": "local", "bind": "loopback", "port": self.port,
                        "auth": {"mode": "token", "token": {"source": "file", "provider": "gatewaytoken", "id": "value"}}},
            "secrets": {"providers": {"gatewaytoken": {"source": "file", "path": str(self.token_file),
                                                       "mode": "singleValue"}}},
            "logging": {"level": "info", "file": str(self.log_file), "consoleLevel": "warn"},
        }
        if admin_rpc:  # what the role renders by default (openclaw_gateway_admin_rpc_enabled)
            config["plugins"] = {"entries": {"admin-http-rpc": {"enabled": True}}}
        self.config.write_text(json.dumps(config))
        self.env = dict(os.environ, PATH=f"{node_bin()}:/usr/local/bin:/usr/bin:/bin",
                        OPENCLAW_STATE_DIR=str(self.state), OPENCLAW_CONFIG_PATH=str(self.config))
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([self.cli, "gateway", "run"], env=self.env, cwd=str(self.dir),
                                     stdout=open(self.dir / "stdout.log", "w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as r:
                    if json.loads(r.read()).get("ready"):
                        return self
            except Exception:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("real gateway did not become ready: " + (self.dir / "stdout.log").read_text()[-2000:])

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
        shutil.rmtree(self.dir, ignore_errors=True)
