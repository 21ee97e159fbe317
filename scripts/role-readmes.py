#!/usr/bin/env python3
"""Write each role's README.md options section from its meta/argument_specs.yml (the one source of the role's
variables, which Ansible also validates them against). The text before the generated block is the role's own and
is kept; a role without a README gets one with its galaxy description as the start.

    scripts/role-readmes.py          rewrite the generated blocks
    scripts/role-readmes.py --check  exit 1 naming each README that differs (make test runs it via tests/unit)
"""

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN generated: options from meta/argument_specs.yml (scripts/role-readmes.py) -->"
END = "<!-- END generated: options -->"
MARKUP = re.compile(r"\b([COVIRE]V?)\(([^()]*)\)")


def text(value):
    """Ansible doc markup as Markdown, on one table line."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    value = MARKUP.sub(lambda m: f"*{m[2]}*" if m[1] == "I" else f"`{m[2]}`", str(value))
    return " ".join(value.split()).replace("|", "\\|")


def default(spec):
    if "default" not in spec:
        return "required" if spec.get("required") else ""
    return "`" + json.dumps(spec["default"], ensure_ascii=False).replace("|", "\\|") + "`"


def option_rows(options, prefix=""):
    rows = []
    for name, spec in options.items():
        kind = spec.get("type", "str") + (f" of {spec['elements']}" if spec.get("elements") else "")
        choices = f" One of {', '.join(f'`{c}`' for c in spec['choices'])}." if spec.get("choices") else ""
        rows.append(f"| `{prefix}{name}` | {kind} | {default(spec)} | {text(spec.get('description', ''))}{choices} |")
        rows += option_rows(spec.get("options") or {}, f"{prefix}{name}.")
    return rows


def generated(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    out = [BEGIN, "", "## Variables", "",
           "Validated by Ansible against [`meta/argument_specs.yml`](meta/argument_specs.yml) when the role starts; "
           "this section is generated from it.", ""]
    for entry, spec in specs.items():
        how = "" if entry == "main" else f" (`tasks_from: {entry}.yml`)"
        out += [f"### Entry point `{entry}`{how}", "", text(spec.get("short_description", "")) + ".", ""]
        out += [f"- {text(d)}" for d in (spec.get("description") or [])]
        out += [""] if spec.get("description") else []
        if spec.get("options"):
            out += ["| variable | type | default | description |", "|---|---|---|---|", *option_rows(spec["options"]), ""]
        else:
            out += ["No variables.", ""]
    return "\n".join(out).rstrip("\n") + "\n" + END + "\n"


def readme(role):
    path = role / "README.md"
    if path.exists():
        current = path.read_text()
        head = current.split(BEGIN)[0].rstrip("\n") + "\n\n"
    else:
        current = ""
        meta = yaml.safe_load((role / "meta" / "main.yml").read_text())["galaxy_info"]
        head = f"# {role.name}\n\n{meta['description']}.\n\n"
    return path, current, head + generated(role)


def main(check):
    stale = []
    for role in sorted(p.parent.parent for p in ROOT.glob("roles/*/meta/argument_specs.yml")):
        path, current, new = readme(role)
        if new != current:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                path.write_text(new)
    if check and stale:
        print("out of date (run scripts/role-readmes.py):\n" + "\n".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
