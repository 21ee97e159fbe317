"""The collection openclaw.ops, built and installed the way a user gets it (scripts/build-collection.py, then
`ansible-galaxy collection install` of the tarball), and used by FQCN with nothing from this repository on the
search paths: every playbook passes --syntax-check, every module renders with ansible-doc, a module runs on
localhost, a collection playbook runs a collection role that calls a module by its short name and writes its report
under the run directory, a role's filter resolves by its FQCN, and the scheduled-backup bundle built from the
collection runs the backup module on a Python without Ansible. About 10 s, no test hosts."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODULES = sorted(p.stem for p in (ROOT / "library").glob("openclaw_*.py"))
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())
PLAYBOOKS = sorted(p.stem.replace("-", "_") for p in (ROOT / "playbooks").glob("*.yml"))


def tool(name):
    return shutil.which(name, path=str(BIN)) or name


def load_build_script():
    spec = importlib.util.spec_from_file_location("build_collection", ROOT / "scripts" / "build-collection.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def coll(tmp_path_factory):
    """Build into a temporary directory, install the tarball there; commands run there with an empty ansible.cfg."""
    tmp = tmp_path_factory.mktemp("collection")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build-collection.py"), "--out", str(tmp / "build")],
                   check=True, capture_output=True, text=True, timeout=120)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    tarball = tmp / "build" / "dist" / f"openclaw-ops-{version}.tar.gz"
    (tmp / "ansible.cfg").write_text("[defaults]\nstdout_callback = default\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(tmp / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(tmp / "collections"),
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{env.get('PATH', '')}", PWD=str(tmp))
    subprocess.run([tool("ansible-galaxy"), "collection", "install", "-p", str(tmp / "collections"), str(tarball)],
                   check=True, capture_output=True, text=True, cwd=tmp, env=env, timeout=120)
    (tmp / "hosts.yml").write_text(yaml.safe_dump({"openclaw": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}}}}))

    def run(*argv, check=True):
        res = subprocess.run(argv, capture_output=True, text=True, cwd=tmp, env=env, timeout=120)
        if check:
            assert res.returncode == 0, f"{' '.join(argv)}: rc {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}"
        return res

    return dict(tmp=tmp, tarball=tarball, version=version, run=run,
                root=tmp / "collections" / "ansible_collections" / "openclaw" / "ops")


def test_tarball_holds_the_collection_files(coll):
    with tarfile.open(coll["tarball"]) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == ("openclaw", "ops", coll["version"])
    assert manifest["license"] == ["MIT"] and manifest["authors"] == ["openclaw-ops contributors (@openclaw-ops)"]
    expected = {"LICENSE", "README.md", "CHANGELOG.md", "meta/runtime.yml", "plugins/filter/openclaw_filters.py",
                "plugins/doc_fragments/openclaw.py", "tests/sanity/ignore-2.17.txt", "tests/sanity/ignore-2.21.txt"}
    expected |= {f"plugins/modules/{m}.py" for m in MODULES} | {f"roles/{r}/tasks/main.yml" for r in ROLES}
    expected |= {f"playbooks/{p}.yml" for p in PLAYBOOKS}
    assert expected <= names, sorted(expected - names)
    assert yaml.safe_load((coll["root"] / "meta" / "runtime.yml").read_text())["requires_ansible"] == ">=2.17.0"
    readme = (ROOT / "collection" / "README.md").read_text()
    filters = load_build_script().filter_names()
    assert [n for n in MODULES + ROLES + filters if f"`{n}`" not in readme] == [], "collection/README.md lists them"


def test_every_playbook_passes_syntax_check_by_fqcn(coll):
    res = coll["run"](tool("ansible-playbook"), "-i", "hosts.yml", "--syntax-check", *(f"openclaw.ops.{p}" for p in PLAYBOOKS))
    assert res.stdout.count("playbook: ") == len(PLAYBOOKS)


def test_every_module_renders_with_ansible_doc(coll):
    res = coll["run"](tool("ansible-doc"), "--json", *(f"openclaw.ops.{m}" for m in MODULES))
    docs = json.loads(res.stdout)
    assert sorted(docs) == [f"openclaw.ops.{m}" for m in MODULES]
    assert all(d["doc"].get("short_description") for d in docs.values())


def test_a_module_runs_by_fqcn_with_the_collections_module_utils(coll):
    res = coll["run"](tool("ansible"), "localhost", "-i", "hosts.yml", "-m", "openclaw.ops.openclaw_health",
                      "-a", "port=9 timeout=1 unit=''", check=False)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "127.0.0.1:9 is unhealthy: /healthz connection refused" in res.stdout, res.stdout


def test_a_collection_playbook_runs_a_role_and_its_module_by_short_name(coll):
    """archives: include_role openclaw_backup (short name) -> module openclaw_archives (short name, module_utils of the
    collection) -> playbook-relative template -> report under the run directory, not in the installed collection."""
    backups = coll["tmp"] / "backups-on-host"
    backups.mkdir()
    (backups / "openclaw-backup-localhost-20261129T080000Z.tar.gz").write_bytes(b"")
    (backups / "openclaw-config-localhost-20261128T080000Z.tar.gz.age").write_bytes(b"")
    coll["run"](tool("ansible-playbook"), "openclaw.ops.archives", "-i", "hosts.yml", "-e", f"openclaw_backup_dir={backups}")
    report = json.loads((coll["tmp"] / "reports" / "archives" / "archives.json").read_text())
    archives = report["hosts"]["localhost"]["archives"]
    assert [(a["backup_set"], a["encrypted"]) for a in archives] == [("backup", False), ("config", True)]
    assert not list(coll["root"].rglob("archives.json"))


def test_a_roles_filter_resolves_by_fqcn(coll):
    """restore's preflight checks the date with openclaw.ops.openclaw_utc_time (an unresolved filter is a template
    error, not this assertion's message)."""
    res = coll["run"](tool("ansible-playbook"), "openclaw.ops.restore", "-i", "hosts.yml",
                      "-e", "openclaw_restore_before=yesterday", check=False)
    assert res.returncode == 2
    assert "openclaw_restore_before=yesterday is not a UTC date or date-time" in res.stdout, res.stdout[-2000:]


def test_the_scheduled_backup_bundle_of_the_collection_runs_without_ansible(coll):
    """The role's bundle task, as the collection ships it, builds a runtime whose backup module imports the collection's
    module_utils; the scheduled runner runs it as the timer does (the bundle's directory comes first on the module's
    sys.path, so its ansible and ansible_collections packages are the ones imported)."""
    tmp, role = coll["tmp"], coll["root"] / "roles" / "openclaw_backup"
    tasks = yaml.safe_load((role / "tasks" / "schedule.yml").read_text())
    build = [t for t in tasks if t["name"].startswith("Build the backup runtime bundle")]
    assert len(build) == 1
    (tmp / "bundle-task.yml").write_text(yaml.safe_dump(build))
    (tmp / "bundle.yml").write_text(yaml.safe_dump([{
        "hosts": "localhost", "gather_facts": False,
        "vars": {"_openclaw_backup_project": str(coll["root"]), "_openclaw_backup_bundle": str(tmp / "bundle" / "rt.tar.gz"),
                 "openclaw_backup_schedule_state": "present"},
        "tasks": [{"ansible.builtin.include_tasks": "bundle-task.yml"}]}]))
    coll["run"](tool("ansible-playbook"), "-i", "hosts.yml", "bundle.yml")
    lib = tmp / "lib"
    lib.mkdir()
    with tarfile.open(tmp / "bundle" / "rt.tar.gz") as tar:
        tar.extractall(lib, filter="data")
    shutil.copy(role / "files" / "openclaw-scheduled-backup.py", lib)
    state = tmp / "state"
    state.mkdir()
    (state / "openclaw.json").write_text("{}")
    config = {"state_dir": str(state), "dest_dir": str(tmp / "archives"), "install_root": str(tmp / "none"),
              "sets": [{"name": "backup", "classes": ["all"], "keep_days": 7}], "encrypt_recipients": [],
              "marker_dir": str(tmp / "markers")}
    (tmp / "backup.json").write_text(json.dumps(config))
    res = subprocess.run([sys.executable, "-I", str(lib / "openclaw-scheduled-backup.py"), str(tmp / "backup.json")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(list((tmp / "archives").glob("openclaw-backup-*.tar.gz"))) == 1, res.stdout


def test_the_build_refuses_a_source_that_moved(tmp_path):
    build = load_build_script()
    path = tmp_path / "vars.yml"
    path.write_text("a: 1\n")
    with pytest.raises(build.BuildError, match="expected 1 occurrence"):
        build.edit(path, "b: 2", "b: 3")
    with pytest.raises(build.BuildError, match="expected one line"):
        build.edit_line(path, "b: 2", ["b: 3"])
