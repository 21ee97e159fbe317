"""Each role's README.md documents its variables from meta/argument_specs.yml (scripts/role-readmes.py writes that
section; this fails when a README differs from what the script would write)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_role_has_a_readme_generated_from_its_argument_specs():
    roles = sorted(p.name for p in (ROOT / "roles").iterdir() if p.is_dir())
    assert all((ROOT / "roles" / r / "README.md").exists() for r in roles), roles
    assert all((ROOT / "roles" / r / "meta" / "argument_specs.yml").exists() for r in roles), roles
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "role-readmes.py"), "--check"], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
