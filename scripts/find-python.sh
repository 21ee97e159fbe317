#!/usr/bin/env bash
# Prints the path of the first Python among the versions asked for (in that order) that this machine has: on PATH as
# pythonX.Y, or installed by pyenv (whose shim for a version that is not the selected one does not run). Used by the
# Makefile: the default venv runs on the newest Python the newest supported ansible-core accepts, the oldest-version
# job on one the oldest supported ansible-core accepts.
# Usage: find-python.sh 3.13 3.12 ...
set -uo pipefail
for v in "$@"; do
  if p=$(command -v "python$v" 2>/dev/null) && "$p" -c 'import sys' >/dev/null 2>&1; then
    "$p" -c 'import sys; print(sys.executable)'; exit 0
  fi
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$root"/versions/"$v".*/bin/python"$v"; do
    [ -x "$p" ] && "$p" -c 'import sys' >/dev/null 2>&1 && { echo "$p"; exit 0; }
  done
done
echo "find-python.sh: none of Python $* found (on PATH as pythonX.Y or under pyenv); install one, or set PYTHON=" >&2
exit 1
