"""Every single-bit flip of a written archive that changes what it holds is refused by the verification pass that a
restore runs first; the flips that do not change it are the header bytes gzip never reads and equivalent
back-references in the tar's zero padding (why the damage tests use tests/archive_damage.py)."""

import gzip
import os

from ansible.module_utils.openclaw_archive import ArchiveError, verify_ops
from ansible.module_utils.openclaw_backup_flow import write_archive
from archive_damage import damaged_copy


def _archive(tmp_path):
    state = tmp_path / "state"
    files = []
    for rel, body in [("openclaw.json", b'{"gateway": {"port": 18789}}\n' * 8),
                      ("agents/main/sessions/s.jsonl", os.urandom(256) + b"x" * 1500),
                      ("workspace/marker.txt", b"marker\n")]:
        path = state / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        files.append((rel, str(path), "all", False, len(body)))
    archive = tmp_path / "a.tar.gz"
    with open(archive, "wb") as raw:
        write_archive(raw, files, dict(files=[], sqlite={}), str(tmp_path), 6, 1)
    return archive


def test_every_flip_that_changes_the_content_is_refused(tmp_path):
    archive = _archive(tmp_path)
    data = archive.read_bytes()
    original = gzip.decompress(data)
    verify_ops(str(archive), None)
    flipped = tmp_path / "f.tar.gz"
    unchanged = []
    for offset in range(len(data)):
        copy = bytearray(data)
        copy[offset] ^= 0x01
        flipped.write_bytes(bytes(copy))
        try:
            same = gzip.decompress(bytes(copy)) == original
        except Exception:
            same = False
        try:
            verify_ops(str(flipped), None)
        except ArchiveError:
            continue
        assert same, f"a flip at {offset} changes the content and passed verification"
        unchanged.append(offset)
    assert set(range(3, 10)) <= set(unchanged)  # MTIME, XFL, OS of the gzip header: never read
    assert len(unchanged) < len(data) // 20


def test_the_damage_helper_changes_the_content(tmp_path):
    archive = _archive(tmp_path)
    offset = damaged_copy(archive, tmp_path / "bad.tar.gz")
    assert offset >= archive.stat().st_size // 2
    try:
        changed = gzip.decompress((tmp_path / "bad.tar.gz").read_bytes()) != gzip.decompress(archive.read_bytes())
    except Exception:
        changed = True
    assert changed
