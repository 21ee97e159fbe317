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


def scenario_inventory(scenario):
    """(platform names, group_vars, host_vars) of a scenario."""
    conf = yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())
    inv = conf["provisioner"]["inventory"]
    gvars = dict(_resolve(inv["group_vars"]["openclaw"]), ansible_python_interpreter="/usr/bin/python3")
    hvars = {h: _resolve(v) for h, v in inv.get("host_vars", {}).items()}
    return [p["name"] for p in conf["platforms"]], gvars, hvars
