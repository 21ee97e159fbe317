"""Preflight and the Node.js tarball choice for macOS hosts, run by ansible-playbook with a host's facts taken from a
jsonfile fact cache (no macOS here: the facts are what Ansible reports on a Mac, the tasks run on the controller).

- macOS 14 arm64, launchd: openclaw_nodejs picks node-v<ver>-darwin-arm64 (group wheel), the macOS release check
  passes, then preflight stops with the named reason (install/configure are Linux-only yet), changing nothing.
- macOS 12: the release check fails naming the supported releases.
- Debian 12 x86_64 with systemd: linux-x64 and the whole systemd preflight passes (the systemd path is unchanged)."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

MAC = {"system": "Darwin", "distribution": "MacOSX", "distribution_major_version": "14", "architecture": "arm64",
       "service_mgr": "launchd", "os_family": "Darwin"}
DEBIAN = {"system": "Linux", "distribution": "Debian", "distribution_major_version": "12", "architecture": "x86_64",
          "service_mgr": "systemd", "os_family": "Debian"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_preflight(tmp_path, facts):
    cache = tmp_path / "facts"
    cache.mkdir()
    # the facts cache as each ansible-core writes it: up to 2.18 the file `box1`; 2.19+ reads `s1_box1` holding the
    # same JSON as a string under `__payload__` (both are written: each version reads its own)
    cached = json.dumps({f"ansible_{k}": v for k, v in facts.items()})
    (cache / "box1").write_text(cached)
    (cache / "s1_box1").write_text(json.dumps({"__payload__": cached}))
    play = [{"hosts": "box1", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable,
                      "openclaw_gateway_token": "unit-test-token-0123456789abcdef0123456789",
                      "openclaw_gateway_port": free_port(),
                      "openclaw_gateway_install_root": str(tmp_path / "opt")},
             "tasks": [
                 {"name": "Runtime variables", "ansible.builtin.include_role": {
                     "name": "openclaw_nodejs", "tasks_from": "preflight.yml", "public": True}},
                 {"name": "Report the tarball", "ansible.builtin.debug": {
                     "msg": "TARBALL={{ _openclaw_nodejs_name }} GROUP={{ _openclaw_nodejs_root_group }}"}},
                 {"name": "Gateway preflight", "ansible.builtin.include_role": {
                     "name": "openclaw_gateway", "tasks_from": "preflight.yml"}}]}]
    pb = tmp_path / "play.yml"
    pb.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CACHE_PLUGIN="jsonfile",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache), ANSIBLE_GATHERING="explicit", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    res = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "box1,", str(pb)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    return res.returncode, " ".join(res.stdout.split())


@pytest.mark.parametrize("arch,expect", [("arm64", "darwin-arm64"), ("x86_64", "darwin-x64")])
def test_macos_picks_the_darwin_tarball_and_stops_with_the_reason(tmp_path, arch, expect):
    rc, out = run_preflight(tmp_path, dict(MAC, architecture=arch))
    assert f"TARBALL=node-v24.21.0-{expect} GROUP=wheel" in out, out[-3000:]
    assert re.search(r"Check the macOS release is supported \(launchd\)\] \*+ ok:", out) and "needs macOS" not in out
    assert rc != 0 and "stops at preflight: the install and configure phases are Linux-only yet" in out, out[-3000:]
    assert "changed=0" in out
    assert not (tmp_path / "opt").exists()


def test_old_macos_is_refused_by_name(tmp_path):
    rc, out = run_preflight(tmp_path, dict(MAC, distribution_major_version="12"))
    assert rc != 0 and "openclaw_gateway_service_manager=launchd needs macOS 13, 14, 15, 26 (got Darwin MacOSX 12)" in out, \
        out[-3000:]


def test_debian_systemd_preflight_still_passes(tmp_path):
    rc, out = run_preflight(tmp_path, DEBIAN)
    assert "TARBALL=node-v24.21.0-linux-x64 GROUP=root" in out, out[-3000:]
    assert rc == 0, out[-3000:]
    assert re.search(r"Check the macOS release is supported \(launchd\)\] \*+ skipping", out)
    assert re.search(r"Check the remaining phases support macOS\] \*+ skipping", out)
