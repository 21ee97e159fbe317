"""The oldest supported ansible-core (2.17, `.venv-oldest`): `make oldest-run` (ansible-lint's production profile, a
syntax check of every playbook, the unit tests, and test_cli's real-host deploy/backup/health) as one test of the
suite, so that it runs on a worker beside the long scenarios instead of after them (Makefile, target `oldest`)."""

import os
import subprocess

from podman_host import ROOT

VENV_OLDEST = ROOT / ".venv-oldest"


def test_the_oldest_supported_ansible_core_passes_lint_syntax_unit_and_a_real_host_deploy():
    assert (VENV_OLDEST / ".installed").exists(), "no .venv-oldest: run `make venv-oldest` (make test does)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MAKE", "MFLAGS"))}
    res = subprocess.run(["make", "--no-print-directory", "oldest-run"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=1800)
    out = res.stdout + res.stderr
    print(out[-3000:])
    assert res.returncode == 0, out[-6000:]
    assert "ansible [core 2.17." in out, out[:2000]
    assert "syntax check: every playbook" in out, out[-3000:]
    # the closing line of the inner pytest run: everything passed, nothing failed or errored
    last = [line for line in out.splitlines() if " passed" in line][-1]
    assert "failed" not in last and "error" not in last, last
