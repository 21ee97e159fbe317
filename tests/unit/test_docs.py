"""The documentation checks itself: README.md and docs/**/*.md.

- every `ansible-playbook` command line names an inventory (`-i`), an existing one, and a restore (or a stop or
  restart of the service) names one host with `-l` (ansible.cfg defaults to the sandbox inventory, so an example
  without `-i` silently runs against the sandbox);
- every root playbook is in the README's playbook index and every module of library/ in docs/reference.md;
- every relative link points to a file that exists (and to a heading that exists, when it has an anchor);
- the platform and status tables are rendered from docs/status.yml, and every copy matches it
  (`UPDATE_DOCS=1 .venv/bin/pytest -q tests/unit/test_docs.py` rewrites the copies after an edit of the YAML);
- the README stays a front page (at most 12 KB) and gets the everyday tasks done in one command each;
- the Chinese handbook map has a row for every heading of the handbook (when the handbook is on this machine).

The checkers are plain functions; the last tests feed them broken samples to show that they fail.
"""

import os
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
STATUS_YAML = DOCS / "status.yml"
STATUS_MD = DOCS / "status.md"
HANDBOOK_MAP = DOCS / "zh-CN" / "handbook-map.md"
# The operations handbook (运维手册) lives beside the checkout, not in it; OPENCLAW_HANDBOOK points elsewhere.
HANDBOOK = Path(os.environ.get("OPENCLAW_HANDBOOK", ROOT.parent / "shared" / "seed" / "000_020ff7c9aa074c85.txt"))
README_MAX_BYTES = 12 * 1024
# playbooks that act on one host: a command line without -l/--limit would act on the whole fleet
ONE_HOST_PLAYBOOKS = {"restore.yml"}
ONE_HOST_SERVICE_ACTIONS = {"stop", "restart"}


def markdown_files():
    return [README, *sorted(DOCS.rglob("*.md"))]


def rel(path):
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


# --- markdown reading -------------------------------------------------------------------------------------------

FENCE = re.compile(r"^\s*(```|~~~)")


def split_code(text):
    """(line number, line, in_code_block) for every line of a markdown text."""
    in_code = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_code = not in_code
            continue
        yield number, line, in_code


def playbook_commands(text):
    """(line number, command) for every `ansible-playbook` command: logical lines of code blocks (a trailing
    backslash continues the line) and inline code spans in prose."""
    found = []
    pending, start = "", 0
    for number, line, in_code in split_code(text):
        if in_code:
            if not pending:
                start = number
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            logical, pending = pending + line, ""
            for m in re.finditer(r"(?:^|[\s;&|`(])(ansible-playbook\s[^`]*)", logical):
                found.append((start, m.group(1)))
        else:
            pending = ""
            for span in re.findall(r"`([^`]+)`", line):
                if re.match(r"\s*ansible-playbook\s", span):
                    found.append((number, span.strip()))
    return found


def words(command):
    try:
        return shlex.split(command, comments=True)
    except ValueError:  # an unbalanced quote in prose: fall back to whitespace
        return command.split("#", 1)[0].split()


def option_value(argv, short, long):
    for i, word in enumerate(argv):
        if word in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if word.startswith(long + "="):
            return word.split("=", 1)[1]
        if short and word.startswith(short) and len(word) > len(short) and not word.startswith("--"):
            return word[len(short):]
    return None


def command_problems(command):
    """What is wrong with one `ansible-playbook` command line (empty when nothing is)."""
    argv = words(command)
    problems = []
    playbook = next((w for w in argv[1:] if w.endswith(".yml") and not w.startswith("-")), None)
    inventory = option_value(argv, "-i", "--inventory")
    if inventory is None:
        problems.append("names no inventory (-i): ansible.cfg would run it against inventories/sandbox")
    elif "<" not in inventory and not (ROOT / inventory).exists():
        problems.append(f"names an inventory that does not exist: {inventory}")
    limit = option_value(argv, "-l", "--limit")
    if playbook in ONE_HOST_PLAYBOOKS and limit is None:
        problems.append(f"{playbook} acts on one host: name it with -l")
    if playbook == "service.yml" and limit is None:
        actions = {w.split("=", 1)[1] for w in argv if re.match(r"(openclaw_service_)?action=", w)}
        if actions & ONE_HOST_SERVICE_ACTIONS:
            problems.append(f"service.yml {'/'.join(sorted(actions))} of the whole fleet: name the host with -l")
    return problems


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def links(text):
    """(line number, target) of every markdown link outside code."""
    for number, line, in_code in split_code(text):
        if in_code:
            continue
        prose = re.sub(r"`[^`]*`", "", line)
        for m in LINK.finditer(prose):
            yield number, m.group(1)


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    for _number, line, in_code in split_code(path.read_text(encoding="utf-8")):
        m = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            out.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return out


def link_problems(source, target):
    if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
        return []
    path, _, anchor = target.partition("#")
    if path.startswith("/"):
        return [f"{target}: an absolute link does not resolve in the repository"]
    dest = (source.parent / path).resolve() if path else source
    if not dest.exists():
        return [f"{target}: no such file"]
    if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
        return [f"{target}: no heading with the anchor #{anchor} in {rel(dest)}"]
    return []


def section(text, heading):
    """The body of the `## heading` section (up to the next heading of level 2 or above)."""
    m = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    return m.group(1) if m else ""


# --- status tables: docs/status.yml is the one source ------------------------------------------------------------


def cell(text):
    return " ".join(str(text).split()).replace("|", "\\|")


def render(kind, docs_prefix):
    data = yaml.safe_load(STATUS_YAML.read_text(encoding="utf-8"))
    if kind == "platforms":
        rows = ["| host OS | connection | what ran here |", "|---|---|---|"]
        rows += [f"| {cell(p['os'])} | {cell(p['connection'])} | {cell(p['ran'])} |" for p in data["platforms"]]
    elif kind == "status":  # the README's short table
        rows = ["| area | state | details |", "|---|---|---|"]
        rows += [f"| {cell(a['area'])} | {cell(a['state'])} | [{a['page']}]({docs_prefix}{a['page']}) |" for a in data["areas"]]
    else:  # status-detail: docs/status.md
        rows = ["| area | state | what | page |", "|---|---|---|---|"]
        rows += [f"| {cell(a['area'])} | {cell(a['state'])} | {cell(a['detail'])} | [{a['page']}]({docs_prefix}{a['page']}) |"
                 for a in data["areas"]]
    return "\n".join(rows) + "\n"


# (file, block kind, link prefix from that file to docs/)
GENERATED = [(README, "platforms", "docs/"), (README, "status", "docs/"),
             (STATUS_MD, "platforms", ""), (STATUS_MD, "status-detail", "")]


def block_pattern(kind):
    name = re.escape(kind)
    return re.compile(rf"(<!-- BEGIN generated: {name} [^\n]*-->\n)(.*?)(<!-- END generated: {name} -->)", re.S)


# --- the checks --------------------------------------------------------------------------------------------------


def test_every_playbook_command_names_an_inventory():
    bad, seen = [], 0
    for path in markdown_files():
        for number, command in playbook_commands(path.read_text(encoding="utf-8")):
            seen += 1
            bad += [f"{rel(path)}:{number}: `{command}` {p}" for p in command_problems(command)]
    assert seen > 20, f"only {seen} ansible-playbook commands found: is the extraction broken?"
    assert not bad, "\n".join(bad)


def root_playbooks():
    out = []
    for path in sorted(ROOT.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, list) and data and all(
                isinstance(play, dict) and ({"hosts", "import_playbook", "ansible.builtin.import_playbook"} & set(play))
                for play in data):
            out.append(path.name)
    return out


def test_every_root_playbook_is_in_the_readme_index():
    playbooks = root_playbooks()
    assert "deploy.yml" in playbooks and "execution-environment.yml" not in playbooks
    index = section(README.read_text(encoding="utf-8"), "Playbooks")
    assert index, "README.md has no `## Playbooks` section"
    missing = [p for p in playbooks if f"`{p}`" not in index]
    assert not missing, f"root playbooks missing from the README's playbook index: {missing}"
    # and the index names nothing that is gone
    for name in re.findall(r"^\| `([\w./-]+\.yml)`", index, re.M):
        assert (ROOT / name).exists() or (ROOT / "playbooks" / name).exists(), f"the index names {name}, which does not exist"


def test_every_module_is_in_the_reference():
    reference = section((DOCS / "reference.md").read_text(encoding="utf-8"), "Modules")
    modules = sorted(p.stem for p in (ROOT / "library").glob("*.py"))
    assert modules
    missing = [m for m in modules if f"`{m}`" not in reference]
    assert not missing, f"modules missing from docs/reference.md ## Modules: {missing}"


def test_every_relative_link_resolves():
    bad = []
    for path in markdown_files():
        for number, target in links(path.read_text(encoding="utf-8")):
            bad += [f"{rel(path)}:{number}: {p}" for p in link_problems(path, target)]
    assert not bad, "\n".join(bad)


def test_status_and_platform_tables_match_docs_status_yml():
    update = os.environ.get("UPDATE_DOCS") == "1"
    stale = []
    for path, kind, prefix in GENERATED:
        text = path.read_text(encoding="utf-8")
        pattern = block_pattern(kind)
        m = pattern.search(text)
        assert m, f"{rel(path)} has no generated {kind} block (<!-- BEGIN generated: {kind} ... -->)"
        want = render(kind, prefix)
        if m.group(2) != want:
            if update:
                path.write_text(pattern.sub(lambda mm, w=want: mm.group(1) + w + mm.group(3), text, count=1), encoding="utf-8")
            else:
                stale.append(f"{rel(path)}: the {kind} table differs from docs/status.yml")
    assert not stale, "\n".join(stale) + "\nedit docs/status.yml, then: UPDATE_DOCS=1 .venv/bin/pytest -q tests/unit/test_docs.py"


def test_status_table_is_only_in_the_generated_blocks():
    # a hand-written copy of the status table elsewhere would drift: the header row appears only inside the blocks
    for path in markdown_files():
        text = path.read_text(encoding="utf-8")
        for _path, kind, _prefix in GENERATED:
            text = block_pattern(kind).sub("", text)
        assert "| host OS | connection |" not in text, f"{rel(path)}: platform table outside docs/status.yml's blocks"
        assert "| area | state |" not in text, f"{rel(path)}: status table outside docs/status.yml's blocks"


def test_status_yaml_is_well_formed():
    data = yaml.safe_load(STATUS_YAML.read_text(encoding="utf-8"))
    for area in data["areas"]:
        assert set(area) == {"area", "state", "page", "detail"}, area
        assert area["state"] in ("done", "partial", "not done", "not met"), area
        assert (DOCS / area["page"]).exists(), area["page"]
    for platform in data["platforms"]:
        assert set(platform) == {"os", "connection", "ran"}, platform


def test_readme_is_a_front_page():
    size = README.stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; keep it at most {README_MAX_BYTES}: move detail to docs/"


EVERYDAY = {
    "deploy one host": ("deploy.yml", True),
    "health of all hosts": ("health.yml", False),
    "back up now": ("backup.yml", False),
    "restore": ("restore.yml", True),
    "upgrade": ("upgrade.yml", False),
    "roll back": ("rollback.yml", True),
    "rotate the token": ("rotate-token.yml", False),
    "support bundle": ("diagnose.yml", True),
}


def test_everyday_tasks_are_one_command_and_one_link_from_the_readme():
    table = section(README.read_text(encoding="utf-8"), "Everyday tasks")
    rows = [line for line in table.splitlines() if line.startswith("| ") and "ansible-playbook" in line]
    for task, (playbook, one_host) in EVERYDAY.items():
        row = next((r for r in rows if re.search(rf"`ansible-playbook {re.escape(playbook)} ", r)), None)
        assert row, f"README Everyday tasks: no one-command row for {task} ({playbook})"
        assert re.search(r"\]\(docs/[\w/.-]+\.md(#[\w-]+)?\)", row), f"README Everyday tasks: {task} has no link into docs/"
        if one_host:
            assert re.search(r"\s(-l|--limit)\s", row), f"README Everyday tasks: {task} must name one host with -l"


def handbook_headings():
    text = HANDBOOK.read_text(encoding="utf-8")
    return [m.group(2).strip() for _n, line, in_code in split_code(text)
            if not in_code and (m := re.match(r"(#{1,6})\s+(.*)", line))]


@pytest.mark.skipif(not HANDBOOK.exists(), reason=f"the handbook is not on this machine ({HANDBOOK})")
def test_handbook_map_has_a_row_for_every_heading():
    rows = [line for line in HANDBOOK_MAP.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    headings = handbook_headings()
    assert len(headings) > 50
    missing = [h for h in headings if not any(f"| {h} |" in row for row in rows)]
    assert not missing, f"docs/zh-CN/handbook-map.md has no row for: {missing}"


# --- the checkers fail on broken input ---------------------------------------------------------------------------


def test_checkers_catch_broken_examples(tmp_path):
    sample = "\n".join([
        "Run `ansible-playbook health.yml` first.",
        "```bash",
        "ansible-playbook deploy.yml --check --diff \\",
        "  -l gw1",
        "ansible-playbook restore.yml -i inventories/production",
        "ansible-playbook service.yml -i inventories/production -e action=restart",
        "ansible-playbook logs.yml -i inventories/nowhere",
        "ansible-playbook backup.yml -i inventories/production   # fine",
        "```",
    ])
    problems = {command: command_problems(command) for _n, command in playbook_commands(sample)}
    assert len(problems) == 6, problems
    assert [c for c, p in problems.items() if not p] == ["ansible-playbook backup.yml -i inventories/production   # fine"]
    assert any("names no inventory" in p[0] for c, p in problems.items() if c.startswith("ansible-playbook health.yml"))
    assert any("-l gw1" in c and "names no inventory" in p[0] for c, p in problems.items())
    assert any("acts on one host" in " ".join(p) for c, p in problems.items() if "restore.yml" in c)
    assert any("whole fleet" in " ".join(p) for c, p in problems.items() if "service.yml" in c)
    assert any("does not exist" in " ".join(p) for c, p in problems.items() if "nowhere" in c)

    page = tmp_path / "page.md"
    page.write_text("# A heading\n[ok](page.md#a-heading) [gone](missing.md) [anchor](page.md#nope) "
                    "[web](https://example.org) `[code](x.md)`\n", encoding="utf-8")
    found = {t: link_problems(page, t) for _n, t in links(page.read_text(encoding="utf-8"))}
    assert found["page.md#a-heading"] == [] and found["https://example.org"] == []
    assert found["missing.md"] and found["page.md#nope"] and "x.md" not in found


def test_slugs_follow_github():
    assert slug("Playbook: `deploy.yml`") == "playbook-deployyml"
    assert slug("Backup and restore (`backup.yml`, `restore.yml`)") == "backup-and-restore-backupyml-restoreyml"
    assert slug("服务管理 (systemd)") == "服务管理-systemd"
