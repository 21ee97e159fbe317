"""`ansible-test sanity` on the collection built from this repository (scripts/collection-sanity.sh, with the
ansible-test of the venv running the tests): every one of its tests passes, with only the justified entries of
collection/tests/sanity/ignore.txt. Each sanity test runs in a virtual environment ansible-test makes from PyPI (about
2 minutes the first time on a machine, 25 s after)."""

import subprocess

from podman_host import BIN, ENV, ROOT


def test_ansible_test_sanity_passes_on_the_built_collection():
    res = subprocess.run([str(ROOT / "scripts" / "collection-sanity.sh")], capture_output=True, text=True, timeout=1200,
                         env=dict(ENV, ANSIBLE_TEST=str(BIN / "ansible-test")))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    # every test ran (a skipped or missing test would not fail the command)
    for name in ("validate-modules", "pylint", "pep8", "import", "compile", "yamllint", "ansible-doc", "shebang"):
        assert f'Running sanity test "{name}"' in out, name
    assert "ERROR" not in out, out[-6000:]
