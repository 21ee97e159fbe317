"""A Molecule scenario's inventory as Molecule resolves it, for the playbook runs the tests make after `molecule test`
on the same hosts: the group_vars and each host's connection (SSH as deploy through its published port, from the
scenario's host_vars)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _resolve(values):
    # Molecule's own variable, resolved as Molecule does (the Node.js mirror, the scenario's SSH key)
    return {k: str(v).replace("${MOLECULE_PROJECT_DIRECTORY}", str(ROOT)) if "${" in str(v) else v
            for k, v in values.items()}


def merged(base, over):
    """Molecule's merge of a scenario's file over the base config: dictionaries deep, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def scenario_config(scenario):
    """A scenario's molecule.yml merged over the shared base (.config/molecule/config.yml)."""
    base = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
    return merged(base, yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text()))


def scenario_inventory(scenario):
    """(platform names, group_vars, host_vars) of a scenario."""
    conf = scenario_config(scenario)
    inv = conf["provisioner"]["inventory"]
    gvars = dict(_resolve(inv["group_vars"]["openclaw"]), ansible_python_interpreter="/usr/bin/python3")
    hvars = {h: _resolve(v) for h, v in inv.get("host_vars", {}).items()}
    return [p["name"] for p in conf["platforms"]], gvars, hvars
