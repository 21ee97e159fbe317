#!/usr/bin/python
"""Ansible module: consistent, verified backup of an OpenClaw state directory."""

DOCUMENTATION = r"""
---
module: openclaw_backup
short_description: Take a consistent, verified snapshot of an OpenClaw gateway's state
description:
  - Copies every SQLite database through SQLite's online backup API (never the raw C(.sqlite)/C(-wal)/C(-shm) files,
    which can be torn while the gateway writes in WAL mode) and everything else as files; C(tmp/) and C(cache/) are
    left out.
  - Writes a gzip tar archive with C(manifest.json) (format version, openclaw version, SQLite schema versions, host,
    time, class and sha256 of every file) to a temporary name, re-reads and verifies it, and renames it into place only
    when complete; on any failure (disk full included) the partial file is removed and older archives are untouched.
  - Every file is read once (hashed while it is archived). The tar stream is cut into 4 MiB pieces, each compressed as
    its own gzip member on O(threads) threads; a piece that does not compress (media, already-compressed files) is
    stored. gzip, GNU tar and Python's tarfile read the result as one ordinary C(.tar.gz). The verification is one
    sequential pass over the written file (gzip CRCs, every member's sha256, nothing missing or extra, the manifest).
  - With O(encrypt_recipients), the verified archive is encrypted with the C(age) CLI to those public keys into
    C(<name>.tar.gz.age) and the plaintext is removed; no private key is needed or used on the host. Decrypt on the
    machine that holds the identity (C(age -d -i key.txt)).
  - A lock prevents two backups of the same state directory at once; free space is checked before writing.
  - Writes the success marker that the metrics collector exports as C(openclaw_last_backup_success_timestamp_seconds).
version_added: "0.1.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  state_dir:
    description: The gateway's state directory (OPENCLAW_STATE_DIR).
    type: path
    required: true
  dest_dir:
    description: Directory the archive is written to (created 0700 if missing).
    type: path
    required: true
  classes:
    description: Which classes to include (C(all), or any of the handbook's classes).
    type: list
    elements: str
    choices: [all, config, credentials, agents, sessions, workspace, other]
    default: [all]
  name_prefix:
    description: Archive file name prefix; the name is C(<prefix>-<host>-<UTC time>.tar.gz).
    type: str
    default: openclaw-backup
  openclaw_version:
    description: Version of the openclaw that owns the state, recorded in the manifest (restore refuses older installs).
    type: str
  min_free_mb:
    description: Free space that must remain in O(dest_dir) beyond the estimated archive size.
    type: int
    default: 256
  lock_timeout:
    description: Seconds to wait for another backup of the same state directory to finish.
    type: int
    default: 0
  marker_dir:
    description: Directory of the C(backup_success) marker; empty to skip.
    type: path
    default: /var/lib/openclaw-ops/markers
  owner:
    description: Owner of the archive.
    type: str
  compresslevel:
    description:
      - gzip level (0 store .. 1 fast .. 9 small). Pieces that do not compress are stored whatever the level.
      - Level 6 costs about 4x the time of level 1 for about 15% less archive on text.
    type: int
    default: 1
  threads:
    description: Compression threads (each piece of the tar stream is compressed independently). 1 keeps a backup
      on one core.
    type: int
    default: 2
  encrypt_recipients:
    description:
      - age public keys (C(age1...), or C(ssh-ed25519 ...)/C(ssh-rsa ...) public keys) to encrypt the archive to.
        Empty for no encryption. Needs the C(age) CLI on the host (Debian package C(age)); the module fails before
        writing anything if it is missing or a key is refused.
      - The plaintext archive exists only as the C(.partial) file (mode 0600) until it is verified and encrypted.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would be backed up (files, bytes) without writing anything.
  diff_mode:
    support: none
    description: Writes a new archive and changes no existing file; no diff is returned.
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
"""

EXAMPLES = r"""
- name: Back up the gateway state
  openclaw_backup:
    state_dir: /var/lib/openclaw/.openclaw
    dest_dir: /var/backups/openclaw
    openclaw_version: "2026.9.6"
  register: backup

- name: Back up, encrypted to the operators' age keys (decrypt on the controller)
  openclaw_backup:
    state_dir: /var/lib/openclaw/.openclaw
    dest_dir: /var/backups/openclaw
    openclaw_version: "2026.9.6"
    encrypt_recipients:
      - age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
"""

RETURN = r"""
path:
  description: Path of the verified archive.
  returned: changed
  type: str
  sample: /var/backups/openclaw/openclaw-backup-gw1-20261126T080000Z.tar.gz
encrypted:
  description: The archive at RV(path) is encrypted with age (its name ends in C(.tar.gz.age)).
  returned: always
  type: bool
  sample: false
size:
  description: Archive size in bytes.
  returned: changed
  type: int
  sample: 48213
sha256:
  description: sha256 of the file at RV(path) (the encrypted file when encrypted).
  returned: changed
  type: str
  sample: 9f2c...
duration:
  description: Seconds the backup took.
  returned: changed
  type: float
  sample: 1.9
files:
  description: Files in the archive (databases included).
  returned: always
  type: int
  sample: 14
databases:
  description: SQLite databases copied through the backup API, with their schema version.
  returned: always
  type: dict
  sample: {"state/openclaw.sqlite": 18}
bytes:
  description: Bytes of state captured (before compression).
  returned: always
  type: int
  sample: 1048576
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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_state import (
    ChunkedGzipWriter,
    GzipChainReader,
    HashingReader,
    plan,
    sqlite_snapshot,
    write_marker,
)

FORMAT_VERSION = 1
BUFSIZE = 1 << 20


def lock_state(module, state_dir, timeout):
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
                module.fail_json(msg=f"Another backup of {state_dir} is running (lock held); retry later or raise lock_timeout.")
            time.sleep(0.5)


def verify_archive(path, manifest):
    """Re-read the written archive in one sequential pass: every gzip member's CRC, every manifest entry present once
    with its sha256, no member the manifest does not list, and manifest.json equal to `manifest`. Returns the sha256 of
    the archive file."""
    expected = {"payload/" + e["path"]: e["sha256"] for e in manifest["files"]}
    seen_manifest = False
    reader = GzipChainReader(path, BUFSIZE)
    try:
        with tarfile.open(fileobj=reader, mode="r|", bufsize=BUFSIZE) as tf:
            for member in tf:
                if member.name == "manifest.json" and not seen_manifest:
                    if json.load(tf.extractfile(member)) != manifest:
                        raise ValueError("manifest.json in the archive differs from the manifest written")
                    seen_manifest = True
                    continue
                if member.name not in expected:
                    raise ValueError(f"{member.name} is in the archive but not in the manifest (or twice)")
                if not member.isfile():
                    raise ValueError(f"{member.name} is not a regular file")
                h = hashlib.sha256()
                fh = tf.extractfile(member)
                chunk = fh.read(BUFSIZE)
                while chunk:
                    h.update(chunk)
                    chunk = fh.read(BUFSIZE)
                if h.hexdigest() != expected.pop(member.name):
                    raise ValueError(f"{member.name} does not match its sha256")
        if expected:
            raise ValueError(f"{sorted(expected)[0]} missing from the archive")
        if not seen_manifest:
            raise ValueError("manifest.json missing from the archive")
        return reader.drain()
    finally:
        reader.close()


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
                with open(src, "rb") as fh:
                    info = tf.gettarinfo(arcname="payload/" + rel, fileobj=fh)
                    info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = (
                        st.st_mode & 0o7777, st.st_mtime, 0, 0, "", "")
                    reader = HashingReader(fh)
                    tf.addfile(info, reader)
                manifest["files"].append(dict(path=rel, cls=cls, sha256=reader.sha.hexdigest(), size=info.size,
                                              mode=oct(info.mode), sqlite=sqlite))
                if sqlite:
                    os.unlink(src)
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime, info.mode = len(data), time.time(), 0o600
            tf.addfile(info, io.BytesIO(data))
        gz.close()
    finally:
        gz.abort()
        snapper.shutdown(wait=True, cancel_futures=True)
    return gz


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state_dir=dict(type="path", required=True),
            dest_dir=dict(type="path", required=True),
            classes=dict(type="list", elements="str", default=["all"],
                         choices=["all", "config", "credentials", "agents", "sessions", "workspace", "other"]),
            name_prefix=dict(type="str", default="openclaw-backup"),
            openclaw_version=dict(type="str"),
            min_free_mb=dict(type="int", default=256),
            lock_timeout=dict(type="int", default=0),
            marker_dir=dict(type="path", default="/var/lib/openclaw-ops/markers"),
            owner=dict(type="str"),
            compresslevel=dict(type="int", default=1),
            threads=dict(type="int", default=2),
            encrypt_recipients=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not 0 <= p["compresslevel"] <= 9:
        module.fail_json(msg=f"compresslevel must be 0..9, got {p['compresslevel']}.")
    if p["threads"] < 1:
        module.fail_json(msg=f"threads must be at least 1, got {p['threads']}.")
    if not os.path.isfile(os.path.join(p["state_dir"], "openclaw.json")) and not os.path.isdir(
            os.path.join(p["state_dir"], "state")):
        module.fail_json(msg=f"{p['state_dir']} does not look like an OpenClaw state directory (no openclaw.json, no state/).")
    recipients = [r.strip() for r in p["encrypt_recipients"] if r.strip()]
    age = None
    if recipients:
        age = module.get_bin_path("age")
        if not age:
            module.fail_json(msg="encrypt_recipients is set but the age CLI is not installed on this host "
                                 "(Debian/Ubuntu package `age`); nothing was written.")
        # age refuses a malformed key only when it runs: try the keys on empty input before spending the backup's time
        rc, _out, err = module.run_command(age_argv(age, recipients, os.devnull, os.devnull))
        if rc != 0:
            module.fail_json(msg=f"age refuses encrypt_recipients: {err.strip()}; nothing was written.")
    files = plan(p["state_dir"], p["classes"])
    total = sum(f[4] for f in files)
    result = dict(changed=True, files=len(files), bytes=total, encrypted=bool(recipients),
                  databases={f[0]: None for f in files if f[3]})
    if module.check_mode:
        module.exit_json(**result)

    os.makedirs(p["dest_dir"], mode=0o700, exist_ok=True)
    free = shutil.disk_usage(p["dest_dir"]).free
    copies = 2 if recipients else 1  # the verified plaintext and its encrypted copy exist together for a moment
    need = total * copies + p["min_free_mb"] * 1024 * 1024
    if free < need:
        module.fail_json(msg=f"Not enough free space in {p['dest_dir']}: {free // 1048576} MB free, "
                             f"{need // 1048576} MB needed (state {total // 1048576} MB"
                             f"{' x2 for encryption' if recipients else ''} + min_free_mb).", **result)

    lock = lock_state(module, p["state_dir"], p["lock_timeout"])
    started = time.monotonic()
    host = socket.gethostname()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    plain = os.path.join(p["dest_dir"], f"{p['name_prefix']}-{host}-{stamp}.tar.gz")
    final = plain + ".age" if recipients else plain
    partial = plain + ".partial"
    enc_partial = final + ".partial"
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
        digest = verify_archive(partial, manifest)
        if recipients:
            rc, _out, err = module.run_command(age_argv(age, recipients, enc_partial, partial))
            if rc != 0:
                raise ValueError(f"age could not encrypt the archive: {err.strip()}")
            os.chmod(enc_partial, 0o600)
            fsync_path(enc_partial)
            os.unlink(partial)
            digest = None
        if p["owner"]:
            shutil.chown(enc_partial if recipients else partial, user=p["owner"])
        os.rename(enc_partial if recipients else partial, final)
        fsync_path(p["dest_dir"], directory=True)
    except Exception as exc:  # disk full, unreadable file, failed verification: leave nothing half-written
        for leftover in (partial, enc_partial):
            try:
                os.unlink(leftover)
            except OSError:
                pass
        module.fail_json(msg=f"Backup of {p['state_dir']} failed and was discarded: {exc}", **result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lock.close()

    if p["marker_dir"]:
        write_marker(module, p["marker_dir"], "backup_success")
    if digest is None:
        digest = module.sha256(final)
    result.update(path=final, size=os.path.getsize(final), sha256=digest,
                  duration=round(time.monotonic() - started, 2),
                  databases={k: v["user_version"] for k, v in manifest["sqlite"].items()})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
