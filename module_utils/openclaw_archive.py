"""Reading and unpacking openclaw-ops backup archives (stdlib only; runs on the target).

Shared by openclaw_restore (restore, drill) and openclaw_upgrade (rollback to the pre-upgrade state): an archive is
verified completely before anything is unpacked, and unpacking never writes outside its target.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import tarfile

from ansible.module_utils.openclaw_state import connect


def version_tuple(v):
    parts = []
    for piece in str(v).split("-")[0].split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


class ArchiveError(Exception):
    pass


def verify(archive, scratch):
    """Full verification without touching the state: returns the manifest. Raises ArchiveError with one sentence."""
    try:
        tf = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"cannot read the archive: {exc}") from None
    with tf:
        try:
            members = tf.getmembers()
        except (OSError, tarfile.TarError, EOFError, Exception) as exc:
            raise ArchiveError(f"the archive is truncated or corrupt: {exc}") from None
        names = {}
        for m in members:
            if m.name.startswith("/") or ".." in m.name.split("/"):
                raise ArchiveError(f"unsafe member path {m.name!r} (absolute or with ..)")
            if not (m.isfile() or m.isdir()):
                raise ArchiveError(f"member {m.name!r} is a link or special file; refusing it")
            names[m.name] = m
        if "manifest.json" not in names:
            raise ArchiveError("no manifest.json: not an openclaw-ops backup")
        try:
            manifest = json.load(tf.extractfile(names["manifest.json"]))
        except (ValueError, OSError, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"manifest.json is unreadable: {exc}") from None
        listed = set()
        for entry in manifest.get("files", []):
            member = "payload/" + entry["path"]
            listed.add(member)
            if member not in names:
                raise ArchiveError(f"{entry['path']} is in the manifest but not in the archive")
            try:
                data = tf.extractfile(names[member]).read()
            except (OSError, tarfile.TarError, EOFError, Exception) as exc:
                raise ArchiveError(f"{entry['path']} cannot be read: {exc}") from None
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise ArchiveError(f"{entry['path']} does not match its sha256: the archive was altered or damaged")
            if entry.get("sqlite"):
                probe = os.path.join(scratch, "probe.sqlite")
                with open(probe, "wb") as fh:
                    fh.write(data)
                try:
                    ok = connect(probe).execute("PRAGMA integrity_check").fetchone()[0]
                except sqlite3.DatabaseError as exc:
                    ok = str(exc)
                os.unlink(probe)
                if ok != "ok":
                    raise ArchiveError(f"{entry['path']} fails SQLite integrity_check: {ok}")
        extra = [n for n, m in names.items() if m.isfile() and n != "manifest.json" and n not in listed]
        if extra:
            raise ArchiveError(f"members not in the manifest: {', '.join(sorted(extra)[:5])}")
    return manifest


def extract_payload(archive, dest):
    """Unpack payload/ into `dest`. Uses tarfile's `data` filter where the target's Python has it (3.12, 3.11.4+);
    Debian 12's Python 3.11.2 does not, so there the same rules are applied here: regular files and directories only
    (verify() already refused links, devices, absolute paths and `..`), each resolved path inside `dest`."""
    root = os.path.realpath(dest)
    os.makedirs(root, mode=0o700)
    with tarfile.open(archive, "r:gz") as tf:
        members = [m for m in tf.getmembers() if m.name.startswith("payload/") and len(m.name) > len("payload/")]
        for m in members:
            m.name = m.name[len("payload/"):]
        if hasattr(tarfile, "data_filter"):
            tf.extractall(root, members=members, filter="data")
            return
        for m in members:
            target = os.path.realpath(os.path.join(root, m.name))
            if not target.startswith(root + os.sep):
                raise ArchiveError(f"member {m.name!r} would land outside the target")
            if m.isdir():
                os.makedirs(target, mode=0o700, exist_ok=True)
            elif m.isfile():
                os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
                with tf.extractfile(m) as src, open(target, "xb") as out:
                    shutil.copyfileobj(src, out)
                os.utime(target, (m.mtime, m.mtime))
            else:
                raise ArchiveError(f"member {m.name!r} is not a regular file or directory")


def clear_stale_owner_lease(state_root):
    """Drop the gateway-owner lease that the archived state carries. It names the process that was running when the
    backup was taken (pid, host, expiry ~5 min ahead): stale by definition in a restored copy, and a gateway started on
    the copy refuses while it looks alive ("Another Gateway owner lease is still active for this state directory")."""
    db = os.path.join(state_root, "state", "openclaw.sqlite")
    if not os.path.isfile(db):
        return 0
    con = connect(db)
    try:
        try:
            n = con.execute("DELETE FROM state_leases WHERE scope = 'gateway-owner'").rowcount
        except sqlite3.OperationalError:  # older or newer schema without the table
            return 0
        con.commit()
        return n
    finally:
        con.close()
