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
  - A lock prevents two backups of the same state directory at once; free space is checked before writing.
  - Writes the success marker that the metrics collector exports as C(openclaw_last_backup_success_timestamp_seconds).
version_added: "0.1.0"
author: openclaw-ops
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
    description: gzip level (1 fast .. 9 small).
    type: int
    default: 6
attributes:
  check_mode:
    support: full
    description: Reports what would be backed up (files, bytes) without writing anything.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Back up the gateway state
  openclaw_backup:
    state_dir: /var/lib/openclaw/.openclaw
    dest_dir: /var/backups/openclaw
    openclaw_version: "2026.9.6"
  register: backup
"""

RETURN = r"""
path:
  description: Path of the verified archive.
  returned: changed
  type: str
  sample: /var/backups/openclaw/openclaw-backup-gw1-20261126T080000Z.tar.gz
size:
  description: Archive size in bytes.
  returned: changed
  type: int
  sample: 48213
sha256:
  description: sha256 of the archive.
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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_state import plan, sha256_file, sqlite_snapshot

FORMAT_VERSION = 1


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
    """Re-read the written archive: every manifest entry present with its sha256."""
    with tarfile.open(path, "r:gz") as tf:
        names = set(tf.getnames())
        for entry in manifest["files"]:
            member = "payload/" + entry["path"]
            if member not in names:
                raise ValueError(f"{member} missing from the archive")
            digest = hashlib.sha256(tf.extractfile(member).read()).hexdigest()
            if digest != entry["sha256"]:
                raise ValueError(f"{member} does not match its sha256")


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
            compresslevel=dict(type="int", default=6),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not os.path.isfile(os.path.join(p["state_dir"], "openclaw.json")) and not os.path.isdir(
            os.path.join(p["state_dir"], "state")):
        module.fail_json(msg=f"{p['state_dir']} does not look like an OpenClaw state directory (no openclaw.json, no state/).")
    files = plan(p["state_dir"], p["classes"])
    total = sum(f[4] for f in files)
    result = dict(changed=True, files=len(files), bytes=total,
                  databases={f[0]: None for f in files if f[3]})
    if module.check_mode:
        module.exit_json(**result)

    os.makedirs(p["dest_dir"], mode=0o700, exist_ok=True)
    free = shutil.disk_usage(p["dest_dir"]).free
    need = total + p["min_free_mb"] * 1024 * 1024
    if free < need:
        module.fail_json(msg=f"Not enough free space in {p['dest_dir']}: {free // 1048576} MB free, "
                             f"{need // 1048576} MB needed (state {total // 1048576} MB + min_free_mb).", **result)

    lock = lock_state(module, p["state_dir"], p["lock_timeout"])
    started = time.monotonic()
    host = socket.gethostname()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = os.path.join(p["dest_dir"], f"{p['name_prefix']}-{host}-{stamp}.tar.gz")
    partial = final + ".partial"
    scratch = tempfile.mkdtemp(prefix="openclaw-backup-", dir=p["dest_dir"])
    manifest = dict(format=FORMAT_VERSION, tool="openclaw-ops", openclaw_version=p["openclaw_version"], host=host,
                    created=stamp, state_dir=os.path.realpath(p["state_dir"]), classes=p["classes"], files=[],
                    sqlite={})
    try:
        with open(partial, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=p["compresslevel"]) as tf:
                for rel, abspath, cls, sqlite, _size in files:
                    src = abspath
                    if sqlite:
                        src = os.path.join(scratch, "db.sqlite")
                        version, integrity = sqlite_snapshot(abspath, src)
                        if integrity != "ok":
                            raise ValueError(f"{rel}: integrity_check on the snapshot said {integrity!r}")
                        manifest["sqlite"][rel] = dict(user_version=version)
                    st = os.stat(abspath)
                    digest = sha256_file(src)
                    info = tf.gettarinfo(src, arcname="payload/" + rel)
                    info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = (
                        st.st_mode & 0o7777, st.st_mtime, 0, 0, "", "")
                    with open(src, "rb") as fh:
                        tf.addfile(info, fh)
                    manifest["files"].append(dict(path=rel, cls=cls, sha256=digest, size=info.size,
                                                  mode=oct(info.mode), sqlite=sqlite))
                    if sqlite:
                        os.unlink(src)
                data = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo("manifest.json")
                info.size, info.mtime, info.mode = len(data), time.time(), 0o600
                tf.addfile(info, io.BytesIO(data))
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        verify_archive(partial, manifest)
        if p["owner"]:
            shutil.chown(partial, user=p["owner"])
        os.rename(partial, final)
    except Exception as exc:  # disk full, unreadable file, failed verification: leave nothing half-written
        try:
            os.unlink(partial)
        except OSError:
            pass
        module.fail_json(msg=f"Backup of {p['state_dir']} failed and was discarded: {exc}", **result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        lock.close()

    if p["marker_dir"]:
        os.makedirs(p["marker_dir"], exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p["marker_dir"])
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{time.time():.3f}\n")
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, os.path.join(p["marker_dir"], "backup_success"))
    result.update(path=final, size=os.path.getsize(final), sha256=sha256_file(final),
                  duration=round(time.monotonic() - started, 2),
                  databases={k: v["user_version"] for k, v in manifest["sqlite"].items()})
    module.exit_json(**result)


if __name__ == "__main__":
    main()
