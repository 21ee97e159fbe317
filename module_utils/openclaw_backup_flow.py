"""Taking a consistent, verified backup of a gateway's state directory (stdlib + Ansible module_utils; target side).

The workflow of the openclaw_backup module (also run without Ansible by the scheduled-backup bundle, which ships this
directory beside the module): preflight (arguments, the age CLI and its keys, free space), a lock per state directory,
the archive written to a .partial name, verified by openclaw_archive.verify_written (the same pass a restore runs),
optionally encrypted, and renamed into place only when complete. Failures raise ModuleFailure.
"""

import fcntl
import hashlib
import io
import json
import os
import shutil
import socket
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.openclaw_archive import verify_written
from ansible.module_utils.openclaw_errors import ModuleFailure
from ansible.module_utils.openclaw_state import ChunkedGzipWriter, HashingReader, plan, sqlite_snapshot, write_marker

FORMAT_VERSION = 1
BUFSIZE = 1 << 20


def lock_state(state_dir, timeout):
    """An exclusive lock per state directory (flock on a file in /run/lock); the open file holds it."""
    key = hashlib.sha256(os.path.realpath(state_dir).encode()).hexdigest()[:16]
    lock_dir = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
    fh = open(os.path.join(lock_dir, f"openclaw-backup-{key}.lock"), "w")
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                raise ModuleFailure(f"Another backup of {state_dir} is running (lock held); retry later or raise "
                                    "lock_timeout.") from None
            time.sleep(0.5)


def age_argv(age, recipients, out, src):
    argv = [age, "--encrypt", "--output", out]
    for r in recipients:
        argv += ["--recipient", r]
    return argv + [src]


def fsync_path(path, directory=False):
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _add_file(tf, rel, src, st):
    """Archive `src` as payload/<rel> with the live file's mode and mtime; returns (tarinfo, sha256 hex)."""
    with open(src, "rb") as fh:
        info = tf.gettarinfo(arcname="payload/" + rel, fileobj=fh)
        info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = (
            st.st_mode & 0o7777, st.st_mtime, 0, 0, "", "")
        reader = HashingReader(fh)
        tf.addfile(info, reader)
    return info, reader.sha.hexdigest()


def _add_manifest(tf, manifest):
    data = json.dumps(manifest, indent=2, sort_keys=True).encode()
    info = tarfile.TarInfo("manifest.json")
    info.size, info.mtime, info.mode = len(data), time.time(), 0o600
    tf.addfile(info, io.BytesIO(data))


def write_archive(raw, files, manifest, scratch, level, threads):
    """Stream `files` into `raw` as a chunked gzip tar; fills manifest["files"] and manifest["sqlite"]. SQLite databases
    are snapshotted (backup API + integrity_check) one ahead on a worker thread while the previous files are archived;
    at most two snapshots exist in `scratch` at a time."""
    dbs = [i for i, f in enumerate(files) if f[3]]
    snapshots = {}
    snapper = ThreadPoolExecutor(max_workers=1)

    def snap(i):
        dst = os.path.join(scratch, f"db-{i}.sqlite")
        return (dst,) + sqlite_snapshot(files[i][1], dst)

    def schedule(k):
        if k < len(dbs):
            snapshots[dbs[k]] = (k, snapper.submit(snap, dbs[k]))

    gz = ChunkedGzipWriter(raw, level, threads)
    try:
        schedule(0)
        with tarfile.TarFile(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT, copybufsize=BUFSIZE) as tf:
            for i, (rel, abspath, cls, sqlite, _size) in enumerate(files):
                src = abspath
                st = os.stat(abspath)
                if sqlite:
                    k, future = snapshots.pop(i)
                    schedule(k + 1)
                    src, version, integrity = future.result()
                    if integrity != "ok":
                        raise ValueError(f"{rel}: integrity_check on the snapshot said {integrity!r}")
                    manifest["sqlite"][rel] = dict(user_version=version)
                info, digest = _add_file(tf, rel, src, st)
                manifest["files"].append(dict(path=rel, cls=cls, sha256=digest, size=info.size, mode=oct(info.mode),
                                              sqlite=sqlite))
                if sqlite:
                    os.unlink(src)
            _add_manifest(tf, manifest)
        gz.close()
    finally:
        gz.abort()
        snapper.shutdown(wait=True, cancel_futures=True)
    return gz


class Backup:
    """One backup run of the openclaw_backup module: `run()` returns the result or raises ModuleFailure."""

    def __init__(self, module):
        self.m, self.p = module, module.params
        self.recipients = [r.strip() for r in self.p["encrypt_recipients"] if r.strip()]
        self.age = None

    def preflight(self):
        """Arguments, the state directory and the age keys, before anything is read or written."""
        p = self.p
        if not 0 <= p["compresslevel"] <= 9:
            raise ModuleFailure(f"compresslevel must be 0..9, got {p['compresslevel']}.")
        if p["threads"] < 1:
            raise ModuleFailure(f"threads must be at least 1, got {p['threads']}.")
        if not os.path.isfile(os.path.join(p["state_dir"], "openclaw.json")) and not os.path.isdir(
                os.path.join(p["state_dir"], "state")):
            raise ModuleFailure(f"{p['state_dir']} does not look like an OpenClaw state directory (no openclaw.json, "
                                "no state/).")
        if not self.recipients:
            return
        self.age = self.m.get_bin_path("age")
        if not self.age:
            raise ModuleFailure("encrypt_recipients is set but the age CLI is not installed on this host "
                                "(Debian/Ubuntu package `age`); nothing was written.")
        # age refuses a malformed key only when it runs: try the keys on empty input before spending the backup's time
        rc, _out, err = self.m.run_command(age_argv(self.age, self.recipients, os.devnull, os.devnull))
        if rc != 0:
            raise ModuleFailure(f"age refuses encrypt_recipients: {err.strip()}; nothing was written.")

    def check_space(self, total, result):
        p = self.p
        os.makedirs(p["dest_dir"], mode=0o700, exist_ok=True)
        free = shutil.disk_usage(p["dest_dir"]).free
        copies = 2 if self.recipients else 1  # the verified plaintext and its encrypted copy exist together for a moment
        need = total * copies + p["min_free_mb"] * 1024 * 1024
        if free < need:
            raise ModuleFailure(f"Not enough free space in {p['dest_dir']}: {free // 1048576} MB free, "
                                f"{need // 1048576} MB needed (state {total // 1048576} MB"
                                f"{' x2 for encryption' if self.recipients else ''} + min_free_mb).", **result)

    def run(self):
        self.preflight()
        files = plan(self.p["state_dir"], self.p["classes"])
        total = sum(f[4] for f in files)
        result = dict(changed=True, files=len(files), bytes=total, encrypted=bool(self.recipients),
                      databases={f[0]: None for f in files if f[3]})
        if self.m.check_mode:
            return result
        self.check_space(total, result)
        lock = lock_state(self.p["state_dir"], self.p["lock_timeout"])
        try:
            started = time.monotonic()
            final, digest, manifest = self.write(files, result)
        finally:
            lock.close()
        if self.p["marker_dir"]:
            write_marker(self.m, self.p["marker_dir"], "backup_success")
        if digest is None:
            digest = self.m.sha256(final)
        result.update(path=final, size=os.path.getsize(final), sha256=digest,
                      duration=round(time.monotonic() - started, 2),
                      databases={k: v["user_version"] for k, v in manifest["sqlite"].items()})
        return result

    def write(self, files, result):
        """Write, verify, encrypt and rename into place; returns (final path, sha256 or None when encrypted, manifest).
        On any failure (disk full, unreadable file, failed verification) nothing half-written is left."""
        p = self.p
        host = socket.gethostname()
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        plain = os.path.join(p["dest_dir"], f"{p['name_prefix']}-{host}-{stamp}.tar.gz")
        final = plain + ".age" if self.recipients else plain
        partial, enc_partial = plain + ".partial", final + ".partial"
        scratch = tempfile.mkdtemp(prefix="openclaw-backup-", dir=p["dest_dir"])
        manifest = dict(format=FORMAT_VERSION, tool="openclaw-ops", openclaw_version=p["openclaw_version"], host=host,
                        created=stamp, state_dir=os.path.realpath(p["state_dir"]), classes=p["classes"], files=[],
                        sqlite={})
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb", buffering=BUFSIZE) as raw:
                write_archive(raw, files, manifest, scratch, p["compresslevel"], p["threads"])
                raw.flush()
                os.fsync(raw.fileno())
            digest = verify_written(partial, manifest)
            if self.recipients:
                self.encrypt(partial, enc_partial)
                digest = None
            done = enc_partial if self.recipients else partial
            if p["owner"]:
                shutil.chown(done, user=p["owner"])
            os.rename(done, final)
            fsync_path(p["dest_dir"], directory=True)
        except Exception as exc:  # leave nothing half-written
            for leftover in (partial, enc_partial):
                try:
                    os.unlink(leftover)
                except OSError:
                    pass
            raise ModuleFailure(f"Backup of {p['state_dir']} failed and was discarded: {exc}", **result) from None
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return final, digest, manifest

    def encrypt(self, partial, enc_partial):
        rc, _out, err = self.m.run_command(age_argv(self.age, self.recipients, enc_partial, partial))
        if rc != 0:
            raise ValueError(f"age could not encrypt the archive: {err.strip()}")
        os.chmod(enc_partial, 0o600)
        fsync_path(enc_partial)
        os.unlink(partial)
