"""Every module's documentation renders with `ansible-doc` and agrees with the argument spec the module really
builds: same options, same types, same defaults, same choices, and `no_log` options documented. A module whose
DOCUMENTATION does not parse fails here (it once did, and nothing noticed)."""

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils import basic

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "library").glob("openclaw_*.py"))
ANSIBLE_DOC = shutil.which("ansible-doc", path=str(Path(sys.executable).parent)) or "ansible-doc"


class Captured(Exception):
    pass


def real_spec(name, monkeypatch):
    """The argument_spec main() passes to AnsibleModule, captured before anything runs."""
    def capture(self, argument_spec=None, **kw):
        raise Captured(argument_spec)
    monkeypatch.setattr(basic.AnsibleModule, "__init__", capture)
    mod = importlib.import_module(name)
    with pytest.raises(Captured) as got:
        mod.main()
    return got.value.args[0]


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders_and_matches_the_argument_spec(name, monkeypatch):
    res = subprocess.run([ANSIBLE_DOC, "-M", str(ROOT / "library"), "--json", name], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, f"ansible-doc {name} failed: {res.stderr[-1500:]}"
    doc = json.loads(res.stdout)[name]
    assert doc["doc"].get("short_description") and doc.get("examples") and doc.get("return"), name
    options = doc["doc"].get("options") or {}
    spec = real_spec(name, monkeypatch)
    assert sorted(options) == sorted(spec), f"{name}: documented {sorted(set(options) ^ set(spec))} differ from the spec"
    for opt, s in spec.items():
        d = options[opt]
        assert d.get("type", "str") == s.get("type", "str"), f"{name}.{opt}: type {d.get('type')} vs {s.get('type')}"
        if "default" in s and s["default"] is not None:
            assert d.get("default") == s["default"], f"{name}.{opt}: default {d.get('default')!r} vs {s['default']!r}"
        if "choices" in s:
            assert sorted(map(str, d.get("choices", []))) == sorted(map(str, s["choices"])), f"{name}.{opt}: choices"
        if s.get("required"):
            assert d.get("required") is True, f"{name}.{opt}: required in the spec, not in the docs"
    for key, ret in (doc.get("return") or {}).items():
        assert {"description", "returned", "type"} <= set(ret), f"{name}: RETURN {key} lacks returned/type"
