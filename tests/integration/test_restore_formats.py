"""openclaw_restore and archives it did not write itself: the real gateway's own `openclaw backup create` format
(accepted, checked by the installed gateway's `openclaw backup verify` too) and partial class archives (refused for a
whole-state restore)."""

import json
import os
import subprocess
import tarfile

import openclaw_backup
import openclaw_restore
import pytest
from archive_damage import damaged_copy
from real_gateway import RealGateway


@pytest.fixture(scope="module")
def gateway():
    with RealGateway() as gw:
        (gw.state / "workspace").mkdir(exist_ok=True)
        (gw.state / "workspace" / "notes.md").write_text("restore-formats-marker\n")
        yield gw


@pytest.fixture(scope="module")
def upstream_archive(gateway, tmp_path_factory):
    """`openclaw backup create --verify` of the live gateway's state, by the real CLI."""
    out = tmp_path_factory.mktemp("upstream")
    res = subprocess.run([str(gateway.cli), "backup", "create", "--verify", "--json", "--output", str(out)],
                         env=gateway.env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    return out / os.path.basename(json.loads(res.stdout)["archivePath"])


def restore(run_module, gateway, archive, **extra):
    args = dict(archive=str(archive), state_dir="/nonexistent/state", owner="root", group="root",
                installed_version="2026.9.6", cli=str(gateway.cli), node_bin_dir=gateway.env["PATH"].split(":")[0])
    return run_module(openclaw_restore.main, dict(args, **extra))


def test_openclaw_backup_create_archive_is_verified_and_unpacks_the_state(run_module, gateway, upstream_archive, tmp_path):
    kind, res = restore(run_module, gateway, upstream_archive, verify_only=True)
    assert kind == "exit", res
    assert res["archive_format"] == "openclaw" and res["archive_version"] == "2026.9.6" and res["files"] > 0
    dest = tmp_path / "unpacked"
    kind, res = restore(run_module, gateway, upstream_archive, extract_to=str(dest))
    assert kind == "exit", res
    assert (dest / "workspace" / "notes.md").read_text() == "restore-formats-marker\n"
    assert json.loads((dest / "openclaw.json").read_text())["gateway"]["port"] == gateway.port
    assert (dest / "state" / "openclaw.sqlite").is_file()
    assert oct((dest / "openclaw.json").stat().st_mode & 0o777) == "0o600"


def test_damaged_openclaw_backup_create_archive_is_refused(run_module, gateway, upstream_archive, tmp_path):
    bad = tmp_path / "flipped.tar.gz"
    damaged_copy(upstream_archive, bad, bit=0x40)
    kind, res = restore(run_module, gateway, bad, verify_only=True)
    assert kind == "fail" and res["msg"].startswith(f"Refusing {bad} before touching the gateway:"), res


def test_openclaw_backup_create_archive_with_traversal_is_refused(run_module, gateway, upstream_archive, tmp_path):
    bad = tmp_path / "evil.tar.gz"
    with tarfile.open(upstream_archive) as tin, tarfile.open(bad, "w:gz") as tout:
        root = tin.getmembers()[0].name.split("/")[0]
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        evil = tarfile.TarInfo(f"{root}/payload/../../etc/evil")
        evil.size = 0
        tout.addfile(evil)
    kind, res = restore(run_module, gateway, bad, verify_only=True)
    assert kind == "fail" and "unsafe member path" in res["msg"], res


def test_partial_class_archive_is_refused_for_a_whole_state_restore(run_module, gateway, tmp_path):
    kind, res = run_module(openclaw_backup.main, dict(state_dir=str(gateway.state), dest_dir=str(tmp_path), min_free_mb=1,
                                                      marker_dir="", classes=["config"], openclaw_version="2026.9.6"))
    assert kind == "exit", res
    kind, res = restore(run_module, gateway, res["path"], state_dir=str(tmp_path / "state"))
    assert kind == "fail" and "holds only part of the state (config)" in res["msg"], res
    assert not (tmp_path / "state").exists()
