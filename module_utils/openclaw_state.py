"""Consistent snapshots of an OpenClaw state directory (stdlib only; runs on the target).

SQLite databases are copied through SQLite's online backup API, never as raw .sqlite/-wal/-shm
files: the gateway keeps state/openclaw.sqlite in WAL mode, and a file copy of a live WAL
database can be torn. Everything else is copied as files. tmp/ and cache/ are left out.
"""

import collections
import hashlib
import os
import sqlite3
import zlib
from concurrent.futures import ThreadPoolExecutor

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


# --- archive write path --------------------------------------------------------------------------------------------
# The archive is a gzip tar made of several gzip members (RFC 1952 section 2.2: a gzip file is a series of members).
# gzip, GNU tar, Python's gzip/tarfile ("r:gz") and Node's zlib read such a file as one stream. Cutting the tar stream
# into independent members lets each piece be compressed on its own thread, and lets a piece that does not compress
# (photos, video, already-compressed files) be stored instead of run through a futile deflate.

GZIP_CHUNK = 4 << 20
_SAMPLE = 16 << 10
_STORE_RATIO = 0.97


def compress_member(block, level):
    """One gzip member for `block`; level 0 (stored) when three samples of it do not shrink at level 1."""
    if level > 0 and len(block) >= 4 * _SAMPLE:
        mid = len(block) // 2
        samples = (block[:_SAMPLE], block[mid:mid + _SAMPLE], block[-_SAMPLE:])
        if all(len(zlib.compress(s, 1)) > _STORE_RATIO * len(s) for s in samples):
            level = 0
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(block) + c.flush(), level == 0


class ChunkedGzipWriter:
    """Write-only file object for tarfile: collects the tar stream into pieces of at least `chunk` bytes, compresses
    each as a separate gzip member on `threads` worker threads (zlib releases the GIL) and writes them to `raw` in
    order. `members` counts the gzip members written, `stored` those written at level 0."""

    def __init__(self, raw, level, threads=1, chunk=GZIP_CHUNK):
        self.raw, self.level, self.chunk = raw, level, chunk
        self.pos = 0
        self.pieces, self.pending = [], 0
        self.pool = ThreadPoolExecutor(max_workers=max(1, threads))
        self.inflight = collections.deque()
        self.max_inflight = max(1, threads) * 2
        self.members = self.stored = 0

    def tell(self):
        return self.pos

    def write(self, data):
        self.pieces.append(bytes(data))
        self.pending += len(data)
        self.pos += len(data)
        if self.pending >= self.chunk:
            self._submit()
        return len(data)

    def _submit(self):
        block = b"".join(self.pieces)
        self.pieces, self.pending = [], 0
        self.inflight.append(self.pool.submit(compress_member, block, self.level))
        while len(self.inflight) >= self.max_inflight:
            self._drain_one()

    def _drain_one(self):
        out, stored = self.inflight.popleft().result()
        self.raw.write(out)
        self.members += 1
        self.stored += stored

    def close(self):
        """Compress what is left and wait for every member to be written."""
        try:
            if self.pieces:
                self._submit()
            while self.inflight:
                self._drain_one()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def abort(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class HashingReader:
    """Wraps a binary file: every byte read is fed to sha256, so a file is hashed while it is archived (one read)."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, n=-1):
        data = self.fh.read(n)
        self.sha.update(data)
        return data


class GzipChainReader:
    """Sequential reader of a (multi-member) gzip file in large blocks, for tarfile's stream mode ("r|"). zlib checks
    each member's CRC32 and length; trailing garbage or a truncated member raises ValueError. Also hashes the
    compressed bytes (`digest`), so the verification pass yields the archive's sha256 too."""

    def __init__(self, path, bufsize=1 << 20):
        self.fh = open(path, "rb")
        self.bufsize = bufsize
        self.digest = hashlib.sha256()
        self.d = zlib.decompressobj(31)
        self.pending = b""
        self.out = bytearray()
        self.eof = False

    def _fill(self):
        while not self.out and not self.eof:
            data = self.pending or self.fh.read(self.bufsize)
            if not self.pending:
                self.digest.update(data)
            self.pending = b""
            if not data:
                if not self.d.eof:
                    raise ValueError("the archive ends inside a gzip member (truncated)")
                self.eof = True
                return
            if self.d.eof:  # the previous member is complete: the next one starts here
                self.d = zlib.decompressobj(31)
            self.out += self.d.decompress(data)
            if self.d.eof and self.d.unused_data:
                self.pending = self.d.unused_data

    def read(self, n=-1):
        if n is None or n < 0:
            parts = []
            while True:
                self._fill()
                if not self.out:
                    return b"".join(parts)
                parts.append(bytes(self.out))
                self.out = bytearray()
        self._fill()
        data = bytes(self.out[:n])
        del self.out[:n]
        return data

    def drain(self):
        """Read to the end (checks the remaining members) and return the archive's sha256."""
        while not self.eof:
            self.out = bytearray()
            self._fill()
        self.out = bytearray()
        return self.digest.hexdigest()

    def close(self):
        self.fh.close()


def write_marker(module, marker_dir, name):
    """Atomically write the epoch time into <marker_dir>/<name> (0644): the metrics collector exports it."""
    import tempfile
    import time

    os.makedirs(marker_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=marker_dir)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{time.time():.3f}\n")
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, os.path.join(marker_dir, name))
