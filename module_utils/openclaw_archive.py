"""Listing, reading and unpacking openclaw-ops backup archives (stdlib only; runs on the target).

Shared by openclaw_restore (restore, drill), openclaw_upgrade (rollback to the pre-upgrade state) and openclaw_archives
(the list archives.yml prints and restore.yml chooses from): an archive is verified completely before anything is
unpacked, and unpacking never writes outside its target.
"""

import calendar
import gzip
import hashlib
import json
import os
import re
import shutil
import sqlite3
import tarfile
import time

from ansible.module_utils.openclaw_state import GzipChainReader, connect


def version_tuple(v):
    parts = []
    for piece in str(v).split("-", maxsplit=1)[0].split("."):
        parts.append(int(piece) if piece.isdigit() else 0)
    return tuple(parts)


class ArchiveError(Exception):
    pass


# openclaw_backup names an archive <name_prefix>-<host>-<UTC time>.tar.gz (+ .age when encrypted); the backup sets use
# the prefix openclaw-<set name>, doctor.yml openclaw-predoctor, the upgrade openclaw-preupgrade-<from version>
ARCHIVE_NAME = re.compile(r"^openclaw-(?P<rest>.+)-(?P<stamp>\d{8}T\d{6}Z)\.tar\.gz(?P<age>\.age)?$")
ARCHIVE_SUFFIXES = (".tar.gz", ".tar.gz.age")


def describe_archive(name, sets, host):
    """(backup set, host, UTC epoch or None) of an archive file name. `sets` are the configured set names. A name with
    another prefix whose host part is `host` (this machine's name, which the backup module writes) has that prefix as
    its set (predoctor, preupgrade-2026.9.5). A name without a valid time has a set only when it starts with
    openclaw-<set>-."""
    by_length = sorted(sets, key=len, reverse=True)
    m = ARCHIVE_NAME.match(name)
    try:
        epoch = calendar.timegm(time.strptime(m.group("stamp"), "%Y%m%dT%H%M%SZ")) if m else None
    except ValueError:  # 20261399T...: digits, but no time
        epoch = None
    if epoch is None:
        return next((s for s in by_length if name.startswith(f"openclaw-{s}-")), ""), "", None
    rest = m.group("rest")
    for s in by_length:
        if rest.startswith(f"{s}-"):
            return s, rest[len(s) + 1:], epoch
    if host and rest.endswith(f"-{host}"):
        return rest[:-len(host) - 1], host, epoch
    prefix, _sep, rest_host = rest.partition("-")
    return prefix, rest_host, epoch


def list_archives(directory, sets, host):
    """Every archive in `directory` (regular files named *.tar.gz or *.tar.gz.age; .partial files are being written),
    newest first: name, path, backup_set, host, taken (UTC, ISO 8601 with Z) and taken_epoch, taken_from (the name, or
    the file's mtime for a name without a time), size and encrypted (age, by its name as openclaw_backup writes it)."""
    found = []
    for entry in os.scandir(directory):
        if not entry.name.endswith(ARCHIVE_SUFFIXES) or not entry.is_file(follow_symlinks=False):
            continue
        st = entry.stat(follow_symlinks=False)
        backup_set, archive_host, epoch = describe_archive(entry.name, sets, host)
        source = "name" if epoch is not None else "mtime"
        epoch = int(st.st_mtime) if epoch is None else epoch
        found.append(dict(name=entry.name, path=entry.path, backup_set=backup_set, host=archive_host,
                          taken=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)), taken_epoch=epoch,
                          taken_from=source, size=st.st_size, encrypted=entry.name.endswith(".age")))
    return sorted(found, key=lambda a: (a["taken_epoch"], a["name"]), reverse=True)


SQLITE_MAGIC = b"SQLite format 3\x00"
CHUNK = 1 << 20


def _open(archive):
    try:
        return tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"cannot read the archive: {exc}") from None


def _check_member(m):
    """Refuse absolute paths, `..`, links and special files (before anything is read or unpacked)."""
    if m.name.startswith("/") or ".." in m.name.split("/"):
        raise ArchiveError(f"unsafe member path {m.name!r} (absolute or with ..)")
    if not (m.isfile() or m.isdir()):
        raise ArchiveError(f"member {m.name!r} is a link or special file; refusing it")


def _safe_members(tf):
    """All members, each checked by _check_member."""
    try:
        members = tf.getmembers()
    except (OSError, tarfile.TarError, EOFError, Exception) as exc:
        raise ArchiveError(f"the archive is truncated or corrupt: {exc}") from None
    for m in members:
        _check_member(m)
    return members


def _read_member(tf, member, scratch):
    """Stream one member: (sha256, integrity_check result or None when it is not a SQLite database or `scratch` is
    None)."""
    h = hashlib.sha256()
    probe = os.path.join(scratch, "probe.sqlite") if scratch is not None else None
    try:
        src = tf.extractfile(member)
        head = src.read(CHUNK)
        is_db = scratch is not None and head.startswith(SQLITE_MAGIC)
        with open(probe, "wb") if is_db else _Null() as out:
            chunk = head
            while chunk:
                h.update(chunk)
                out.write(chunk)
                chunk = src.read(CHUNK)
    except (OSError, tarfile.TarError, EOFError, Exception) as exc:
        raise ArchiveError(f"{member.name} cannot be read: {exc}") from None
    ok = None
    if is_db:
        con = None
        try:
            con = connect(probe)
            ok = con.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            ok = str(exc)
        finally:
            if con is not None:
                con.close()
            os.unlink(probe)
    return h.hexdigest(), ok


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, data):
        pass


def archive_format(archive):
    """"openclaw-ops" (manifest.json + payload/<rel>) or "openclaw" (upstream `openclaw backup create`:
    <root>/manifest.json + <root>/payload/posix/<absolute path>), from the first member."""
    with _open(archive) as tf:
        try:
            first = tf.next()
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"the archive is truncated or corrupt: {exc}") from None
    if first is None:
        raise ArchiveError("the archive is empty")
    if first.name == "manifest.json" or first.name.startswith("payload/"):
        return "openclaw-ops"
    parts = first.name.split("/")
    if len(parts) >= 2 and parts[1] in ("manifest.json", "payload"):
        return "openclaw"
    raise ArchiveError(f"unknown archive layout (first member {first.name!r}): neither openclaw-ops nor openclaw backup")


def verify(archive, scratch):
    """Full verification without touching the state; returns the manifest, normalised so that `payload_prefix` names
    the directory inside the archive that holds the state. Raises ArchiveError with one sentence."""
    if archive_format(archive) == "openclaw":
        return verify_upstream(archive, scratch)
    manifest, _digest = verify_ops(archive, scratch)
    manifest.update(format="openclaw-ops", payload_prefix="payload/")
    return manifest


def verify_written(archive, manifest):
    """The backup's own check of the archive it has just written: the same pass as a restore's, with manifest.json
    equal to `manifest` (the one written) and no second SQLite integrity_check (each snapshot had one before it was
    archived). Returns the archive's sha256, computed in the same pass."""
    _manifest, digest = verify_ops(archive, None, expected=manifest)
    return digest


def verify_ops(archive, scratch, expected=None):
    """One sequential pass over an openclaw-ops archive (manifest.json + payload/<rel>): every gzip member's CRC (the
    archive is a chain of 4 MiB gzip members, read by GzipChainReader), safety of every member, each payload file once
    with its sha256 (and its SQLite integrity_check when `scratch` is given); the manifest comes last, so the digests
    are compared once it has been read. Returns (manifest, sha256 of the archive file); raises ArchiveError."""
    seen, manifest = {}, None
    reader = GzipChainReader(archive, CHUNK)
    try:
        with tarfile.open(fileobj=reader, mode="r|", bufsize=CHUNK) as tf:
            for m in tf:
                _check_member(m)
                if m.name == "manifest.json" and manifest is None:
                    manifest = _read_manifest(tf, m)
                elif m.name in seen or m.name == "manifest.json":
                    raise ArchiveError(f"{m.name} is in the archive twice")
                elif m.isfile():
                    seen[m.name] = _read_member(tf, m, scratch)
        digest = reader.drain()
    except ArchiveError:
        raise
    except Exception as exc:  # zlib, tarfile, OSError, ValueError from a truncated member: one sentence
        raise ArchiveError(f"the archive is truncated or corrupt: {exc}") from None
    finally:
        reader.close()
    if manifest is None:
        raise ArchiveError("no manifest.json: not an openclaw-ops backup")
    if expected is not None and manifest != expected:
        raise ArchiveError("manifest.json in the archive differs from the manifest written")
    _compare(manifest, seen)
    return manifest, digest


def _read_manifest(tf, member):
    try:
        return json.load(tf.extractfile(member))
    except (ValueError, OSError, tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"manifest.json is unreadable: {exc}") from None


def _compare(manifest, seen):
    """Every manifest entry present with its sha256 and a passing integrity_check, and no member it does not list."""
    listed = set()
    for entry in manifest.get("files", []):
        member = "payload/" + entry["path"]
        listed.add(member)
        if member not in seen:
            raise ArchiveError(f"{entry['path']} is in the manifest but not in the archive")
        digest, ok = seen[member]
        if digest != entry["sha256"]:
            raise ArchiveError(f"{entry['path']} does not match its sha256: the archive was altered or damaged")
        if ok not in (None, "ok"):
            raise ArchiveError(f"{entry['path']} fails SQLite integrity_check: {ok}")
    extra = sorted(set(seen) - listed)
    if extra:
        raise ArchiveError(f"members not in the manifest: {', '.join(extra[:5])}")


def verify_upstream(archive, scratch):
    """An archive from the gateway's own `openclaw backup create`. Its manifest carries no checksums, so this checks
    what can be checked here (layout, member paths, every SQLite database's integrity_check); restore also runs the
    installed gateway's `openclaw backup verify` on it."""
    with _open(archive) as tf:
        members = _safe_members(tf)
        root = members[0].name.split("/", 1)[0]
        names = {m.name: m for m in members}
        outside = [n for n in names if n != root and not n.startswith(root + "/")]
        if outside:
            raise ArchiveError(f"members outside the archive root {root!r}: {', '.join(outside[:3])}")
        try:
            upstream = json.load(tf.extractfile(names[f"{root}/manifest.json"]))
        except KeyError:
            raise ArchiveError(f"no {root}/manifest.json: not an openclaw backup archive") from None
        except (ValueError, OSError, tarfile.TarError, EOFError) as exc:
            raise ArchiveError(f"manifest.json is unreadable: {exc}") from None
        if upstream.get("schemaVersion") != 1:
            raise ArchiveError(f"openclaw backup schemaVersion {upstream.get('schemaVersion')!r} is not supported (1 is)")
        states = [a for a in upstream.get("assets", []) if a.get("kind") == "state"]
        if len(states) != 1:
            raise ArchiveError(f"expected one state asset in the openclaw backup, found {len(states)}")
        prefix = states[0]["archivePath"].rstrip("/") + "/"
        files = []
        for name, m in names.items():
            if m.isfile() and name.startswith(prefix):
                _digest, ok = _read_member(tf, m, scratch)
                if ok not in (None, "ok"):
                    raise ArchiveError(f"{name[len(prefix):]} fails SQLite integrity_check: {ok}")
                files.append(dict(path=name[len(prefix):], size=m.size))
        if not files:
            raise ArchiveError("the openclaw backup holds no state files")
    return dict(format="openclaw", payload_prefix=prefix, openclaw_version=upstream.get("runtimeVersion"), files=files,
                classes=["all"], created=upstream.get("createdAt"), state_dir=upstream.get("paths", {}).get("stateDir"))


def extract_payload(archive, dest, prefix="payload/"):
    """Unpack the state under `prefix` into `dest` in one sequential pass. The rules of tarfile's `data` filter are
    applied here (Debian 12's Python 3.11.2 predates the filters): regular files and directories only (verify()
    already refused links, devices, absolute paths and `..`), every resolved path inside `dest`, no owner or mode
    taken from the archive (the caller sets 0700/0600 and the service owner)."""
    root = os.path.realpath(dest)
    os.makedirs(root, mode=0o700)
    with gzip.open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tf:
        for m in tf:
            if not m.name.startswith(prefix) or len(m.name) <= len(prefix):
                continue
            _check_member(m)
            name = m.name[len(prefix):]
            target = os.path.realpath(os.path.join(root, name))
            if not target.startswith(root + os.sep):
                raise ArchiveError(f"member {name!r} would land outside the target")
            if m.isdir():
                os.makedirs(target, mode=0o700, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
            with tf.extractfile(m) as src, open(target, "xb") as out:
                shutil.copyfileobj(src, out, CHUNK)
            os.utime(target, (m.mtime, m.mtime))


def clear_stale_owner_lease(state_root):
    """Drop the gateway-owner lease (and the agent-database leases) that the archived state carries. It names the
    process that was running when the backup was taken (pid, host, expiry ~5 min ahead): stale by definition in a
    restored copy, and a gateway started on the copy refuses while it looks alive ("Another Gateway owner lease is
    still active for this state directory")."""
    db = os.path.join(state_root, "state", "openclaw.sqlite")
    if not os.path.isfile(db):
        return 0
    con = connect(db)
    n = 0
    try:
        # The agent-database leases too: each names the process that had an agent database open (the live gateway
        # opens it for a health or session query), and a copy started beside that still-running process refuses
        # ("Agent main database is still open in process N"; found by the upgrade rehearsal under the parallel CI).
        for statement in ("DELETE FROM state_leases WHERE scope = 'gateway-owner'", "DELETE FROM agent_database_leases"):
            try:
                n += con.execute(statement).rowcount
            except sqlite3.OperationalError:  # older or newer schema without the table
                continue
        con.commit()
        return n
    finally:
        con.close()
