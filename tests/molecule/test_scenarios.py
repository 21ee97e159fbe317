"""Runs each Molecule scenario's full sequence (destroy, syntax, create, [prepare], converge,
idempotence, verify, destroy) on real disposable systemd hosts with the real gateway."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    env = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
               PY_COLORS="0", NO_COLOR="1")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{env['PATH']}"
    log = ROOT / ".cache" / f"molecule-{scenario}.log"
    with open(log, "w") as fh:
        res = subprocess.run(["molecule", "test", "-s", scenario], cwd=ROOT, env=env, stdout=fh,
                             stderr=subprocess.STDOUT, timeout=1800)
    text = log.read_text()
    assert res.returncode == 0, f"molecule test -s {scenario} failed (full log {log}):\n{text[-6000:]}"
    # the idempotence step must have run and passed, not been skipped
    assert re.search(r"idempotence\W+Executed: Successful", text), "idempotence step did not run: " + text[-3000:]
    assert re.search(r"verify\W+Executed: Successful", text), "verify step did not run: " + text[-3000:]
