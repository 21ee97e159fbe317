"""Runs each Molecule scenario's full sequence (destroy, syntax, create, [prepare], converge,
idempotence, verify) on real disposable systemd hosts with the real gateway, then checks that
`--check --diff` on the converged host predicts no change, then destroys the host."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def molecule(args, log, env):
    with open(log, "w") as fh:
        res = subprocess.run(["molecule", *args], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=1800)
    return res.returncode, log.read_text()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0", NO_COLOR="1")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    logs = ROOT / ".cache" / "molecule-logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        rc, text = molecule(["test", "-s", scenario, "--destroy", "never"], logs / f"{scenario}-test.log", env)
        assert rc == 0, f"molecule test -s {scenario} failed:\n{text[-6000:]}"
        # the idempotence and verify steps must have run and passed, not been skipped
        assert re.search(r"idempotence\W+Executed: Successful", text), "idempotence did not run:\n" + text[-3000:]
        assert re.search(r"verify\W+Executed: Successful", text), "verify did not run:\n" + text[-3000:]

        rc, text = molecule(["converge", "-s", scenario, "--", "--check", "--diff"], logs / f"{scenario}-check.log", env)
        assert rc == 0, f"--check --diff failed:\n{text[-6000:]}"
        recap = re.findall(r"openclaw-mol-\S+\s*:\s*ok=\d+\s+changed=(\d+)", text)
        assert recap and all(c == "0" for c in recap), f"--check --diff predicts changes:\n{text[-6000:]}"
    finally:
        molecule(["destroy", "-s", scenario], logs / f"{scenario}-destroy.log", env)
