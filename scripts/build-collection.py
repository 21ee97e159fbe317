#!/usr/bin/env python3
"""Assemble the Ansible collection openclaw.ops from this repository and build its tarball (`make collection`).

The repository keeps its own layout (library/, module_utils/, filter_plugins/, roles/, playbooks/); this script copies
them into a collection tree and changes, in the copies only, what a collection resolves differently:

- module_utils imports: `ansible.module_utils.openclaw_x` -> `ansible_collections.openclaw.ops.plugins.module_utils.openclaw_x`
  (modules and module_utils);
- documentation fragments: doc_fragments/ becomes plugins/doc_fragments/, and the modules' `extends_documentation_fragment`
  entries `openclaw.<name>` become `openclaw.ops.openclaw.<name>`;
- filters in roles and playbooks get their FQCN (`| openclaw.ops.to_plist`): Ansible's `collections:` search list
  applies to modules and roles, not to filters. Modules and roles keep their short names: a collection's playbooks
  and roles search their own collection first (ansible-core's Role._load_role_data and PlaybookExecutor);
- paths next to the repository root (`{{ playbook_dir }}/../reports/...`, the backup store, the scheduled-backup
  bundle) point at the directory ansible-playbook runs in, not into the installed collection;
- the scheduled-backup bundle ships the collection's module_utils under their collection package;
- playbook names with a hyphen get an underscore (`restore-drill.yml` -> `openclaw.ops.restore_drill`): an FQCN
  allows letters, digits and underscores only.

Every targeted change must match exactly as often as expected, so an edit of a source file that moves one of them
stops the build instead of shipping a collection that fails on a host. Sources of the collection's own files:
collection/ (galaxy.yml, meta/runtime.yml, README.md, tests/sanity/ignore.txt), LICENSE, CHANGELOG.md.

Usage: scripts/build-collection.py [--out DIR] [--no-tarball]
  tree:    DIR/ansible_collections/openclaw/ops   (DIR defaults to .cache/collection)
  tarball: DIR/dist/openclaw-ops-<version>.tar.gz
"""

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE, NAME = "openclaw", "ops"
FQ = f"{NAMESPACE}.{NAME}"
MU_PACKAGE = f"ansible_collections.{NAMESPACE}.{NAME}.plugins.module_utils"
# sanity ignore files for these ansible-core versions, all from collection/tests/sanity/ignore.txt
SANITY_VERSIONS = ("2.17", "2.18", "2.19", "2.20", "2.21")
# the directory ansible-playbook runs in, as the shell says (the pipe lookup runs in the playbook's directory); the
# playbook's directory when PWD is not set, rather than /
RUN_DIR = "{{ lookup('ansible.builtin.env', 'PWD', default=playbook_dir) }}"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class BuildError(Exception):
    pass


def version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    galaxy = yaml.safe_load((ROOT / "collection" / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    if str(galaxy) != project:
        raise BuildError(f"collection/galaxy.yml has version {galaxy}, pyproject.toml {project}: make them the same")
    return project


def filter_names():
    """The keys of FilterModule.filters() in filter_plugins/openclaw_filters.py (read, not imported)."""
    tree = ast.parse((ROOT / "filter_plugins" / "openclaw_filters.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "filters":
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                    return sorted(k.value for k in ret.value.keys)
    raise BuildError("filter_plugins/openclaw_filters.py: no FilterModule.filters() returning a dict")


def edit(path, old, new, count=1):
    """Replace `old` by `new` in a copied file; `old` must occur exactly `count` times."""
    text = path.read_text(encoding="utf-8")
    found = text.count(old)
    if found != count:
        raise BuildError(f"{path}: expected {count} occurrence(s) of {old!r}, found {found} (did the source change?)")
    path.write_text(text.replace(old, new), encoding="utf-8")


def edit_line(path, old, new_lines):
    """Replace the one line whose stripped text is `old` by `new_lines`, at its indentation (block scalars)."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip() == old]
    if len(hits) != 1:
        raise BuildError(f"{path}: expected one line {old!r}, found {len(hits)} (did the source change?)")
    i = hits[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i: i + 1] = [indent + line + "\n" for line in new_lines]
    path.write_text("".join(lines), encoding="utf-8")


def rewrite_imports(path):
    text = path.read_text(encoding="utf-8")
    new, n = re.subn(r"\bansible\.module_utils\.(openclaw_\w+)", MU_PACKAGE + r".\1", text)
    path.write_text(new, encoding="utf-8")
    return n


def rewrite_fragments(path):
    """`- openclaw.<name>` in the module's extends_documentation_fragment list -> the collection's fragment name."""
    text = path.read_text(encoding="utf-8")
    block = re.search(r"^extends_documentation_fragment:\n((?:\s+- .*\n)+)", text, re.M)
    if not block:
        return 0
    names, n = re.subn(r"(?m)^(\s+- )openclaw\.(?=\w+$)", rf"\g<1>{FQ}.openclaw.", block.group(1))
    path.write_text(text[:block.start(1)] + names + text[block.end(1):], encoding="utf-8")
    return n


def rewrite_content(path, filters):
    """Filters to their FQCN and the repository-root paths to the run directory, in one role or playbook file."""
    text = path.read_text(encoding="utf-8")
    names = "|".join(map(re.escape, filters))
    text = re.sub(rf"(\|\s*)({names})\b", rf"\1{FQ}.\2", text)
    text = re.sub(rf"(\b(?:map|select|reject)\(\s*')({names})'", rf"\1{FQ}.\2'", text)
    text = text.replace("{{ playbook_dir }}/../", RUN_DIR + "/")
    path.write_text(text, encoding="utf-8")


def assemble(dest):
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    src = ROOT / "collection"
    shutil.copy(src / "galaxy.yml", dest / "galaxy.yml")
    shutil.copy(src / "README.md", dest / "README.md")
    shutil.copytree(src / "meta", dest / "meta")
    shutil.copy(ROOT / "LICENSE", dest / "LICENSE")
    shutil.copy(ROOT / "CHANGELOG.md", dest / "CHANGELOG.md")

    # plugins
    for kind, source in (("modules", "library"), ("module_utils", "module_utils"), ("filter", "filter_plugins"),
                         ("doc_fragments", "doc_fragments")):
        (dest / "plugins" / kind).mkdir(parents=True)
        for py in sorted((ROOT / source).glob("*.py")):
            shutil.copy(py, dest / "plugins" / kind / py.name)
    for py in sorted((dest / "plugins" / "modules").glob("*.py")):
        if not rewrite_imports(py):
            raise BuildError(f"{py.name}: imports no openclaw module_utils (expected at least one)")
        if not rewrite_fragments(py):
            raise BuildError(f"{py.name}: extends no openclaw documentation fragment (expected at least one)")
    for py in sorted((dest / "plugins" / "module_utils").glob("*.py")):
        rewrite_imports(py)
    for host_only in ("openclaw_host.py", "openclaw_redact.py"):
        text = (dest / "plugins" / "module_utils" / host_only).read_text(encoding="utf-8")
        if re.search(r"^\s*(from|import)\s+ansible", text, re.M):
            raise BuildError(f"{host_only} imports ansible: scripts that run on hosts without Ansible import it")

    # roles and playbooks
    shutil.copytree(ROOT / "roles", dest / "roles", ignore=IGNORE)
    shutil.copytree(ROOT / "playbooks", dest / "playbooks", ignore=IGNORE)
    backup = dest / "roles" / "openclaw_backup"
    edit(backup / "vars" / "main.yml", '"{{ _openclaw_backup_project }}/.cache/bundles/',
         f'"{RUN_DIR}/.cache/bundles/')
    # regular packages (an __init__.py each), so the bundle's directory, first on sys.path, wins over any other copy
    packages = ["ansible_collections", "ansible_collections/openclaw", "ansible_collections/openclaw/ops",
                "ansible_collections/openclaw/ops/plugins", "ansible_collections/openclaw/ops/plugins/module_utils"]
    edit_line(backup / "tasks" / "schedule.yml",
              "cp {{ (_openclaw_backup_project ~ '/module_utils') | quote }}/*.py \"$work/runtime/ansible/module_utils/\"",
              [f'mkdir -p "$work/runtime/{packages[-1]}"',
               f'for d in {" ".join(packages)}; do : > "$work/runtime/$d/__init__.py"; done',
               "cp {{ (_openclaw_backup_project ~ '/plugins/module_utils') | quote }}/*.py"
               f' "$work/runtime/{packages[-1]}/"'])
    edit(backup / "tasks" / "schedule.yml", "(_openclaw_backup_project ~ '/library/openclaw_backup.py')",
         "(_openclaw_backup_project ~ '/plugins/modules/openclaw_backup.py')")
    filters = filter_names()
    for path in sorted([*(dest / "roles").rglob("*"), *(dest / "playbooks").rglob("*")]):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
            rewrite_content(path, filters)
    for book in sorted((dest / "playbooks").glob("*-*.yml")):
        book.rename(book.with_name(book.name.replace("-", "_")))

    # nothing may still point at the repository's layout
    leftovers = []
    for path in sorted([*(dest / "roles").rglob("*"), *(dest / "playbooks").rglob("*")]):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".j2"):
            text = path.read_text(encoding="utf-8")
            for pattern in (r"playbook_dir \}\}/\.\.", r"'/module_utils'", r"'/library/", r"/filter_plugins"):
                if re.search(pattern, text):
                    leftovers.append(f"{path.relative_to(dest)}: {pattern}")
    for py in sorted((dest / "plugins").rglob("*.py")):
        if re.search(r"\bansible\.module_utils\.openclaw_", py.read_text(encoding="utf-8")):
            leftovers.append(f"{py.relative_to(dest)}: ansible.module_utils.openclaw_")
        if re.search(r"(?m)^\s+- openclaw\.(?!ops\.)", py.read_text(encoding="utf-8")):
            leftovers.append(f"{py.relative_to(dest)}: documentation fragment openclaw.<name>")
    if leftovers:
        raise BuildError("still pointing at the repository layout:\n  " + "\n  ".join(leftovers))

    # sanity ignores: one source, one file per ansible-core version
    # (a line that starts with `@<version>[,<version>] ` goes to those versions' files only: ansible-test fails on an
    # entry a version does not need)
    ignore = (src / "tests" / "sanity" / "ignore.txt").read_text(encoding="utf-8")
    (dest / "tests" / "sanity").mkdir(parents=True)
    for v in SANITY_VERSIONS:
        entries = []
        for line in ignore.splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("@"):
                versions, line = line[1:].split(" ", 1)
                if v not in versions.split(","):
                    continue
            entries.append(line + "\n")
        (dest / "tests" / "sanity" / f"ignore-{v}.txt").write_text("".join(entries), encoding="utf-8")


def build_tarball(dest, dist):
    galaxy = shutil.which("ansible-galaxy", path=str(Path(sys.executable).parent)) or "ansible-galaxy"
    dist.mkdir(parents=True, exist_ok=True)
    subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(dist), str(dest)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / ".cache" / "collection",
                        help="build directory (default: .cache/collection)")
    parser.add_argument("--no-tarball", action="store_true", help="assemble the tree only")
    args = parser.parse_args()
    out = args.out.absolute()
    dest = out / "ansible_collections" / NAMESPACE / NAME
    try:
        ver = version()
        assemble(dest)
    except BuildError as e:
        sys.exit(f"build-collection: {e}")
    print(f"assembled {FQ} {ver} in {dest}")
    if not args.no_tarball:
        build_tarball(dest, out / "dist")
        print(f"tarball: {out / 'dist' / f'{NAMESPACE}-{NAME}-{ver}.tar.gz'}")


if __name__ == "__main__":
    main()
