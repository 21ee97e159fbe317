#!/usr/bin/env bash
# `ansible-test sanity` on the collection built from this repository (docs/collection.md), with the ansible-test of
# the venv that runs it (ANSIBLE_TEST=...; default .venv's) on that venv's Python. Each test runs in a virtual
# environment ansible-test makes from PyPI (--venv; cached in ~/.ansible/test after the first run).
# ansible-test bootstraps pip with a script from ci-files.testing.ansible.com, which these machines cannot reach:
# where it is missing, a stand-in that bootstraps with ensurepip is saved in its place in ansible-test's cache.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
ansible_test=${ANSIBLE_TEST:-$here/.venv/bin/ansible-test}
python=$(dirname "$ansible_test")/python
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
# the pip version ansible-test bootstraps (24.2 up to ansible-core 2.21)
pipver=$("$python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as N
print(g(N(version="'"$pyver"'", path="'"$python"'"))["pip"].replace(".", "_"))' 2>/dev/null || echo 24_2)
for name in "get_pip_$pipver.py"; do
  [ -s "$cache/$name" ] && continue
  cat > "$cache/$name" <<'PY'
"""Stand-in for ansible-test's get-pip script (ci-files.testing.ansible.com is not reachable here; written by
openclaw-ops scripts/collection-sanity.sh): bootstrap pip with the standard library's ensurepip, then let that pip
install what get-pip was asked to."""
import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap()
os.environ.pop("PIP_CONFIG_FILE", None)  # ensurepip sets it to /dev/null; the machine's pip.conf has the CA bundle
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
PY
  touch "$cache/$name.download"
done
out=$(mktemp -d /var/tmp/openclaw-sanity.XXXXXX); trap 'rm -rf "$out"' EXIT
"$python" "$here/scripts/build-collection.py" --out "$out" --no-tarball >/dev/null
cd "$out/ansible_collections/openclaw/ops"
# ansible-test finds `python$pyver` on PATH: the venv's, not a pyenv shim of a version that is not selected
export PATH="$(dirname "$ansible_test"):$PATH"
"$ansible_test" --version
exec "$ansible_test" sanity --venv --python "$pyver" --color no "$@"
