"""Render openclaw_gateway templates through a real ansible-playbook run (the role's defaults and vars loaded as
they are in a play), for the golden-file tests of the launchd plist and the compose file."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLE = ROOT / "roles" / "openclaw_gateway"


def render_templates(tmp, jobs):
    """jobs: {output file name: (template, extra vars)} -> {output file name: rendered Path}."""
    tasks = [{"name": f"render {name}", "ansible.builtin.template": {"src": str(ROLE / "templates" / template),
                                                                       "dest": str(tmp / name)},
              "vars": dict(variables)} for name, (template, variables) in jobs.items()]
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "vars": {"ansible_python_interpreter": sys.executable},
             "vars_files": [str(ROOT / "roles" / "openclaw_nodejs" / "defaults" / "main.yml"),
                            str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")], "tasks": tasks}]
    pb = tmp / "render.yml"
    pb.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    res = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(pb)],
                         cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return {name: tmp / name for name in jobs}
