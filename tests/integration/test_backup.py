"""openclaw_backup against real state made by the real gateway (and a live WAL writer)."""

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import threading
import time

import openclaw_backup
import pytest
from archive_damage import damaged_copy
from real_gateway import RealGateway


@pytest.fixture(scope="module")
def live_state():
    """A running real gateway; its state directory is backed up while it runs."""
    with RealGateway() as gw:
        (gw.state / "workspace").mkdir(exist_ok=True)
        (gw.state / "workspace" / "notes.md").write_text("hello\n" * 1000)
        (gw.state / "credentials").mkdir(exist_ok=True)
        (gw.state / "credentials" / "telegram.json").write_text('{"token": "x"}')
        yield gw


def backup(run_module, state, dest, **extra):
    args = dict(state_dir=str(state), dest_dir=str(dest), marker_dir=str(dest / "markers"), openclaw_version="2026.9.6",
                min_free_mb=1)
    return run_module(openclaw_backup.main, dict(args, **extra))


def test_backup_of_a_running_gateway_is_complete_and_verified(run_module, live_state, tmp_path):
    kind, res = backup(run_module, live_state.state, tmp_path)
    assert kind == "exit", res
    assert res["changed"] and os.path.exists(res["path"]) and not os.path.exists(res["path"] + ".partial")
    assert oct(os.stat(res["path"]).st_mode & 0o777) == "0o600"
    assert "state/openclaw.sqlite" in res["databases"] and res["databases"]["state/openclaw.sqlite"] > 0
    with tarfile.open(res["path"]) as tf:
        names = tf.getnames()
        manifest = json.load(tf.extractfile("manifest.json"))
    assert manifest["openclaw_version"] == "2026.9.6" and manifest["format"] == 1
    assert not any(n.endswith(("-wal", "-shm")) or "/tmp/" in n or n.startswith("payload/cache/") for n in names)
    assert {f["cls"] for f in manifest["files"]} >= {"config", "sessions", "workspace", "credentials"}
    assert float((tmp_path / "markers" / "backup_success").read_text()) > time.time() - 60


def test_check_mode_writes_nothing(run_module, live_state, tmp_path):
    kind, res = run_module(openclaw_backup.main, dict(state_dir=str(live_state.state), dest_dir=str(tmp_path / "d")),
                           check_mode=True)
    assert kind == "exit" and res["changed"] and res["files"] > 0
    assert not (tmp_path / "d").exists()


def test_class_selection(run_module, live_state, tmp_path):
    kind, res = backup(run_module, live_state.state, tmp_path, classes=["config"])
    assert kind == "exit"
    with tarfile.open(res["path"]) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
    assert {f["cls"] for f in manifest["files"]} == {"config"}


def test_backup_while_a_writer_commits_to_a_wal_database(run_module, tmp_path):
    state = tmp_path / "state"
    (state / "state").mkdir(parents=True)
    (state / "openclaw.json").write_text("{}")
    db = state / "state" / "openclaw.sqlite"
    con = sqlite3.connect(db, check_same_thread=False)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
    con.commit()
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            con.execute("INSERT INTO t (payload) VALUES (?)", ("x" * 500,))
            con.commit()
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.5)
    committed_before = sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()[0]
    try:
        kind, res = backup(run_module, state, tmp_path / "out")
    finally:
        stop.set()
        t.join()
    assert kind == "exit", res
    with tarfile.open(res["path"]) as tf:
        tf.extractall(tmp_path / "restored", filter="data")
    copy = sqlite3.connect(tmp_path / "restored" / "payload" / "state" / "openclaw.sqlite")
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM t").fetchone()[0] >= committed_before > 0


def test_concurrent_backup_of_the_same_state_is_refused(run_module, live_state, tmp_path):
    import fcntl
    import hashlib

    key = hashlib.sha256(os.path.realpath(live_state.state).encode()).hexdigest()[:16]
    lock_dir = "/run/lock" if os.path.isdir("/run/lock") else "/tmp"
    with open(os.path.join(lock_dir, f"openclaw-backup-{key}.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        kind, res = backup(run_module, live_state.state, tmp_path, lock_timeout=1)
    assert kind == "fail" and "Another backup of" in res["msg"]
    assert not list(tmp_path.glob("*.tar.gz*"))


@contextlib.contextmanager
def small_disk_with_an_older_archive(mnt, size):
    """A real tmpfs of `size` holding one older archive; yields (mount point, older archive)."""
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.fail("cannot mount a small tmpfs to simulate a full disk (needs root)")
    try:
        older = mnt / "openclaw-backup-old.tar.gz"
        older.write_bytes(b"older archive")
        yield mnt, older
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
        shutil.rmtree(mnt, ignore_errors=True)


def backup_with_big_file(run_module, live_state, mnt, name):
    """Back up the live state into `mnt` with 4 MiB of incompressible data added, larger than the tmpfs."""
    big = live_state.state / "workspace" / name
    big.write_bytes(os.urandom(4 * 1024 * 1024))
    try:
        return backup(run_module, live_state.state, mnt, min_free_mb=0)
    finally:
        big.unlink()


def test_disk_full_leaves_no_partial_archive_and_keeps_older_ones(run_module, live_state, tmp_path):
    with small_disk_with_an_older_archive(tmp_path / "small", "3m") as (mnt, older):
        kind, res = backup_with_big_file(run_module, live_state, mnt, "big.bin")
        assert kind == "fail", res
        assert "Not enough free space" in res["msg"] or "failed and was discarded" in res["msg"]
        assert older.read_bytes() == b"older archive"
        assert [p.name for p in mnt.iterdir() if p.name != "markers"] == [older.name]


def test_disk_filling_during_the_write_leaves_no_partial_archive(run_module, live_state, tmp_path, monkeypatch):
    """The free-space preflight is told there is room, so the write itself runs into ENOSPC on a real tmpfs."""
    with small_disk_with_an_older_archive(tmp_path / "small2", "2m") as (mnt, older):
        monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40))
        kind, res = backup_with_big_file(run_module, live_state, mnt, "big2.bin")
        assert kind == "fail", res
        assert "failed and was discarded" in res["msg"] and "No space left" in res["msg"]
        assert sorted(p.name for p in mnt.iterdir() if p.name != "markers") == [older.name]
        assert older.read_bytes() == b"older archive"


# --- restore: verification refuses damaged or hostile archives before anything changes ---------------

import io  # noqa: E402

import openclaw_restore  # noqa: E402


def make_archive(run_module, live_state, dest):
    kind, res = backup(run_module, live_state.state, dest)
    assert kind == "exit", res
    return res["path"]


def restore_verify(run_module, archive, installed="2026.9.6"):
    return run_module(openclaw_restore.main, dict(archive=str(archive), state_dir="/nonexistent/state", owner="root",
                                                  group="root", installed_version=installed, verify_only=True))


def rewrite(src, dst, edit):
    """Copy a tar.gz member by member, letting `edit(info, data)` change or add members."""
    with tarfile.open(src) as tf_in, tarfile.open(dst, "w:gz") as tf_out:
        for m in tf_in.getmembers():
            data = tf_in.extractfile(m).read() if m.isfile() else None
            for info, payload in edit(m, data):
                tf_out.addfile(info, io.BytesIO(payload) if payload is not None else None)


def test_restore_verifies_a_good_archive(run_module, live_state, tmp_path):
    kind, res = restore_verify(run_module, make_archive(run_module, live_state, tmp_path))
    assert kind == "exit" and res["files"] > 0 and res["archive_version"] == "2026.9.6"


def test_truncated_archive_is_refused(run_module, live_state, tmp_path):
    path = make_archive(run_module, live_state, tmp_path)
    data = open(path, "rb").read()
    bad = tmp_path / "truncated.tar.gz"
    bad.write_bytes(data[: len(data) // 2])
    kind, res = restore_verify(run_module, bad)
    assert kind == "fail" and res["msg"].startswith(f"Refusing {bad} before touching the gateway:")


def test_bit_flipped_archive_is_refused(run_module, live_state, tmp_path):
    path = make_archive(run_module, live_state, tmp_path)
    bad = tmp_path / "flipped.tar.gz"
    damaged_copy(path, bad, bit=0x40)
    kind, res = restore_verify(run_module, bad)
    assert kind == "fail" and "before touching the gateway" in res["msg"]


def test_content_edited_archive_is_refused(run_module, live_state, tmp_path):
    path = make_archive(run_module, live_state, tmp_path)
    bad = tmp_path / "edited.tar.gz"

    def edit(m, data):
        if m.name == "payload/workspace/notes.md":
            data = b"edited\n"
            m.size = len(data)
        yield m, data
    rewrite(path, bad, edit)
    kind, res = restore_verify(run_module, bad)
    assert kind == "fail" and "workspace/notes.md does not match its sha256" in res["msg"]


@pytest.mark.parametrize("evil", ["../escape.txt", "/etc/evil.conf"])
def test_path_traversal_is_refused(run_module, live_state, tmp_path, evil):
    path = make_archive(run_module, live_state, tmp_path)
    bad = tmp_path / "traversal.tar.gz"

    def edit(m, data):
        yield m, data
        if m.name == "manifest.json":
            info = tarfile.TarInfo(evil)
            info.size = 4
            yield info, b"evil"
    rewrite(path, bad, edit)
    kind, res = restore_verify(run_module, bad)
    assert kind == "fail" and "unsafe member path" in res["msg"]


def test_escaping_symlink_is_refused(run_module, live_state, tmp_path):
    path = make_archive(run_module, live_state, tmp_path)
    bad = tmp_path / "symlink.tar.gz"

    def edit(m, data):
        yield m, data
        if m.name == "manifest.json":
            info = tarfile.TarInfo("payload/workspace/link")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/shadow"
            yield info, None
    rewrite(path, bad, edit)
    kind, res = restore_verify(run_module, bad)
    assert kind == "fail" and "is a link or special file" in res["msg"]


def test_archive_from_a_newer_openclaw_is_refused(run_module, live_state, tmp_path):
    kind, res = restore_verify(run_module, make_archive(run_module, live_state, tmp_path), installed="2026.9.5")
    assert kind == "fail" and "newer than the installed 2026.9.5" in res["msg"] and "one-way" in res["msg"]


def test_databases_with_octet_length_checks_back_up_and_verify_on_older_sqlite(run_module, tmp_path):
    """openclaw's agent databases use octet_length() in CHECK constraints; SQLite < 3.43 (Debian 12) lacks it."""
    state = tmp_path / "state"
    (state / "agents" / "main" / "agent").mkdir(parents=True)
    (state / "openclaw.json").write_text("{}")
    db = state / "agents" / "main" / "agent" / "openclaw-agent.sqlite"
    from ansible.module_utils.openclaw_state import connect
    con = connect(db)
    con.execute("CREATE TABLE events (event_json TEXT CHECK (octet_length(event_json) < 1000))")
    con.execute("INSERT INTO events VALUES ('{\"a\": \"b\"}')")
    con.commit()
    con.close()
    kind, res = backup(run_module, state, tmp_path / "out")
    assert kind == "exit", res
    kind, res = restore_verify(run_module, res["path"])
    assert kind == "exit", res
