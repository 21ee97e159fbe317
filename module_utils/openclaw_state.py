"""Consistent snapshots of an OpenClaw state directory (stdlib only; runs on the target).

SQLite databases are copied through SQLite's online backup API, never as raw .sqlite/-wal/-shm
files: the gateway keeps state/openclaw.sqlite in WAL mode, and a file copy of a live WAL
database can be torn. Everything else is copied as files. tmp/ and cache/ are left out.
"""

import hashlib
import os
import sqlite3

# Backup classes from the handbook's table, mapped onto the real state layout.
CLASSES = {
    "config": ("openclaw.json", "config-journal-fingerprint.key", "cron"),
    "credentials": ("credentials",),
    "agents": ("agents",),
    "sessions": ("state",),
    "workspace": ("workspace", "media"),
}
EXCLUDED_DIRS = {"tmp", "cache", "logs"}
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
SQLITE_MAGIC = b"SQLite format 3\x00"


def class_of(relpath):
    top = relpath.split(os.sep, 1)[0]
    for name, tops in CLASSES.items():
        if top in tops:
            return name
    return "other"


def is_sqlite(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def plan(state_dir, classes):
    """Files to snapshot: list of (relpath, abspath, class, is_sqlite, size). Symlinks are recorded as files
    only when they stay inside the state directory."""
    root = os.path.realpath(state_dir)
    wanted = set(classes)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS]
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(SQLITE_SIDE_FILES) or name.endswith(".lock"):
                continue
            abspath = os.path.join(dirpath, name)
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if os.path.islink(abspath):
                target = os.path.realpath(abspath)
                if not target.startswith(root + os.sep):
                    continue
            if not os.path.isfile(abspath):
                continue
            cls = class_of(rel)
            if "all" not in wanted and cls not in wanted:
                continue
            out.append((rel, abspath, cls, is_sqlite(abspath), os.path.getsize(abspath)))
    return out


def _octet_length(value):
    """SQLite's octet_length() (3.43+): bytes of the value's text or blob form; NULL stays NULL."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return len(value)
    return len(str(value).encode("utf-8"))


def connect(path, **kwargs):
    """sqlite3.connect with the SQL functions the gateway's schemas use but older SQLite lacks.

    openclaw 2026.9.x writes CHECK constraints with octet_length(), which Debian 12's SQLite 3.40 does not know:
    integrity_check on an agent database then fails with "unknown function: octet_length()".
    """
    con = sqlite3.connect(path, **kwargs)
    if sqlite3.sqlite_version_info < (3, 43, 0):
        con.create_function("octet_length", 1, _octet_length, deterministic=True)
    return con


def sqlite_snapshot(src, dst):
    """Copy a live SQLite database to `dst` through the online backup API; returns (user_version, integrity)."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    try:
        target = connect(dst)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")
            version = target.execute("PRAGMA user_version").fetchone()[0]
            integrity = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    return version, integrity


def sha256_file(path, bufsize=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(bufsize), b""):
            h.update(chunk)
    return h.hexdigest()
