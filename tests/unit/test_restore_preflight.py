"""restore.yml refuses before any host is reached: a play of two hosts (unless openclaw_restore_many_hosts), a date
that is not one, two ways of naming the archive. The hosts are TEST-NET addresses nothing answers on: a run that tried
to reach them would say UNREACHABLE instead of the refusal. Real ansible-playbook runs, about 2 s each."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    inv = tmp_path_factory.mktemp("restore") / "hosts.yml"
    inv.write_text("openclaw:\n  hosts:\n    gw1: {ansible_host: 192.0.2.1}\n    gw2: {ansible_host: 192.0.2.2}\n"
                   "  vars: {ansible_connection: ssh, ansible_ssh_timeout: 3}\n")
    return inv


def restore(inventory, *args):
    res = subprocess.run([PLAYBOOK, "restore.yml", "-i", str(inventory), *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, ANSIBLE_FORCE_COLOR="0"))
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0 and "UNREACHABLE" not in out and "gw2 " not in out.split("PLAY RECAP")[-1], out[-3000:]
    return out


def test_two_hosts_are_refused_before_either_is_reached(inventory):
    out = restore(inventory)
    assert "This restore targets 2 hosts (gw1, gw2)" in out and "name one host with -l (e.g. -l gw1)" in out, out[-2000:]
    assert "openclaw_restore_many_hosts=true" in out and "Nothing was changed." in out


@pytest.mark.parametrize("args, message", [
    (["-e", "openclaw_restore_before=2026-11-31"], "openclaw_restore_before=2026-11-31 is not a UTC date or date-time"),
    (["-e", "openclaw_restore_before=2026-11-29", "-e", "openclaw_restore_archive=/var/backups/openclaw/x.tar.gz"],
     "openclaw_restore_archive and openclaw_restore_before are both set"),
])
def test_bad_choices_are_refused_before_the_host_is_reached(inventory, args, message):
    assert message in restore(inventory, "-l", "gw1", *args)
