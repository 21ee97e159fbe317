"""openclaw_archives: the archives of a directory, newest first, with set, host, time and encryption read from their
names (the file's mtime for a name without a time); a missing directory lists nothing; read-only in check mode."""

import os
import socket

import openclaw_archives
import pytest

HOST = socket.gethostname()


@pytest.fixture
def store(tmp_path):
    names = [f"openclaw-backup-{HOST}-20261128T030000Z.tar.gz", f"openclaw-config-{HOST}-20261129T030000Z.tar.gz.age",
             f"openclaw-preupgrade-2026.9.5-{HOST}-20261127T101500Z.tar.gz", "copied-by-hand.tar.gz",
             f"openclaw-backup-{HOST}-20261130T030000Z.tar.gz.partial", "notes.txt"]
    for name in names:
        (tmp_path / name).write_bytes(b"x" * 10)
    os.utime(tmp_path / "copied-by-hand.tar.gz", (1700000000, 1700000000))
    (tmp_path / "subdir.tar.gz").mkdir()
    return tmp_path


def test_archives_newest_first_with_their_set_time_and_encryption(run_module, store):
    kind, res = run_module(openclaw_archives.main, dict(dir=str(store)))
    assert kind == "exit" and res["changed"] is False and res["dir_exists"] is True
    got = [(a["backup_set"], a["host"], a["taken"], a["taken_from"], a["encrypted"]) for a in res["archives"]]
    assert got == [("config", HOST, "2026-11-29T03:00:00Z", "name", True),
                   ("backup", HOST, "2026-11-28T03:00:00Z", "name", False),
                   ("preupgrade-2026.9.5", HOST, "2026-11-27T10:15:00Z", "name", False),
                   ("", "", "2023-11-14T22:13:20Z", "mtime", False)]
    assert all(a["size"] == 10 and a["path"] == str(store / a["name"]) for a in res["archives"])


def test_check_mode_is_the_same_read(run_module, store):
    kind, res = run_module(openclaw_archives.main, dict(dir=str(store), sets=["config"]), check_mode=True)
    assert kind == "exit" and len(res["archives"]) == 4 and not res["changed"]
    assert [a["backup_set"] for a in res["archives"]][:2] == ["config", "backup"]


def test_a_missing_directory_lists_nothing(run_module, tmp_path):
    kind, res = run_module(openclaw_archives.main, dict(dir=str(tmp_path / "none")))
    assert kind == "exit" and res == dict(changed=False, archives=[], dir=str(tmp_path / "none"), dir_exists=False)


def test_an_unreadable_directory_fails_with_the_reason(run_module, store, monkeypatch):
    def refuse(*args):
        raise PermissionError(13, "Permission denied", str(store))
    monkeypatch.setattr(openclaw_archives, "list_archives", refuse)
    kind, res = run_module(openclaw_archives.main, dict(dir=str(store)))
    assert kind == "fail" and res["msg"].startswith(f"Cannot list {store}:") and "Permission denied" in res["msg"]


def test_the_directory_is_required(run_module):
    kind, res = run_module(openclaw_archives.main, {})
    assert kind == "fail" and "missing required arguments: dir" in res["msg"]
