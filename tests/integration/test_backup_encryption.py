"""openclaw_backup's encryption to age public keys, against a running real gateway's state.

The identity is made by `age-keygen` on the controller side of the test; the module only ever sees the public key.
"""

import json
import os
import shutil
import subprocess
import tarfile
import zlib

import openclaw_backup
import openclaw_restore
import pytest
from ansible.module_utils.openclaw_archive import verify, verify_written
from archive_damage import damaged_copy
from test_backup import backup, live_state, small_disk_with_an_older_archive  # noqa: F401 (live_state is a fixture)

pytestmark = pytest.mark.skipif(not shutil.which("age") or not shutil.which("age-keygen"),
                                reason="needs the age CLI (scripts/prepare-machine.sh installs it)")


@pytest.fixture(scope="module")
def identity(tmp_path_factory):
    """(identity file, public key) from age-keygen; the identity stays on the 'controller' side of the test."""
    key = tmp_path_factory.mktemp("controller") / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    assert pub.startswith("age1")
    return key, pub


def leftovers(dest):
    return sorted(p.name for p in dest.iterdir() if p.name != "markers")


def test_encrypted_backup_decrypts_with_the_identity_and_verifies(run_module, live_state, identity, tmp_path):  # noqa: F811
    key, pub = identity
    dest = tmp_path / "dest"
    kind, res = backup(run_module, live_state.state, dest, encrypt_recipients=[pub])
    assert kind == "exit", res
    assert res["encrypted"] is True and res["path"].endswith(".tar.gz.age")
    # only the encrypted archive is left: no plaintext .tar.gz, no .partial, no scratch directory
    assert leftovers(dest) == [os.path.basename(res["path"])]
    assert oct(os.stat(res["path"]).st_mode & 0o777) == "0o600"
    with open(res["path"], "rb") as fh:
        assert fh.read(21) == b"age-encryption.org/v1"
    digest = subprocess.run(["sha256sum", res["path"]], check=True, capture_output=True, text=True).stdout.split()[0]
    assert res["sha256"] == digest and res["size"] == os.path.getsize(res["path"])

    plain = tmp_path / "controller" / "backup.tar.gz"
    plain.parent.mkdir()
    subprocess.run(["age", "--decrypt", "--identity", str(key), "--output", str(plain), res["path"]], check=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    manifest = verify(str(plain), str(scratch))
    assert manifest["openclaw_version"] == "2026.9.6" and len(manifest["files"]) == res["files"]
    assert "state/openclaw.sqlite" in manifest["sqlite"]


def test_two_recipients_each_can_decrypt(run_module, live_state, identity, tmp_path):  # noqa: F811
    key, pub = identity
    key2 = tmp_path / "key2.txt"
    subprocess.run(["age-keygen", "-o", str(key2)], check=True, capture_output=True)
    pub2 = subprocess.run(["age-keygen", "-y", str(key2)], check=True, capture_output=True, text=True).stdout.strip()
    kind, res = backup(run_module, live_state.state, tmp_path / "dest", encrypt_recipients=[pub, pub2], classes=["config"])
    assert kind == "exit", res
    for k in (key, key2):
        out = tmp_path / f"{k.stem}.tar.gz"
        subprocess.run(["age", "-d", "-i", str(k), "-o", str(out), res["path"]], check=True)
        assert verify(str(out), str(tmp_path))["classes"] == ["config"]


def test_a_wrong_identity_cannot_decrypt(run_module, live_state, identity, tmp_path):  # noqa: F811
    _key, pub = identity
    kind, res = backup(run_module, live_state.state, tmp_path / "dest", encrypt_recipients=[pub], classes=["config"])
    assert kind == "exit", res
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    r = subprocess.run(["age", "-d", "-i", str(other), "-o", str(tmp_path / "x"), res["path"]], capture_output=True,
                       text=True)
    assert r.returncode != 0 and "no identity matched" in r.stderr


def test_missing_age_fails_clearly_before_writing(run_module, live_state, identity, tmp_path, monkeypatch):  # noqa: F811
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a host without the age package: the real lookup finds nothing
    dest = tmp_path / "dest"
    kind, res = backup(run_module, live_state.state, dest, encrypt_recipients=[identity[1]])
    assert kind == "fail" and "age CLI is not installed" in res["msg"] and "package `age`" in res["msg"]
    assert not dest.exists()


def test_malformed_recipient_is_refused_before_writing(run_module, live_state, tmp_path):  # noqa: F811
    dest = tmp_path / "dest"
    kind, res = backup(run_module, live_state.state, dest, encrypt_recipients=["age1notakey"])
    assert kind == "fail" and res["msg"].startswith("age refuses encrypt_recipients") and "nothing was written" in res["msg"]
    assert not dest.exists()


def test_check_mode_reports_encryption_without_writing(run_module, live_state, identity, tmp_path):  # noqa: F811
    kind, res = run_module(openclaw_backup.main, dict(state_dir=str(live_state.state), dest_dir=str(tmp_path / "d"),
                                                      encrypt_recipients=[identity[1]]), check_mode=True)
    assert kind == "exit" and res["changed"] and res["encrypted"] is True
    assert not (tmp_path / "d").exists()


def test_disk_full_while_encrypting_leaves_no_plaintext(run_module, live_state, identity, tmp_path, monkeypatch):  # noqa: F811
    """The plaintext archive fits on the small tmpfs, its encrypted copy does not: age fails for real, and neither the
    plaintext nor the encrypted partial remains; the older archive is untouched."""
    big = live_state.state / "workspace" / "media-like.bin"
    big.write_bytes(os.urandom(1536 * 1024))
    try:
        with small_disk_with_an_older_archive(tmp_path / "small", "2600k") as (mnt, older):
            monkeypatch.setattr(shutil, "disk_usage",
                                lambda p: shutil._ntuple_diskusage(1 << 40, 0, 1 << 40))
            kind, res = backup(run_module, live_state.state, mnt, min_free_mb=0, encrypt_recipients=[identity[1]])
            assert kind == "fail", res
            assert "failed and was discarded" in res["msg"] and "age could not encrypt" in res["msg"]
            assert leftovers(mnt) == [older.name]
            assert older.read_bytes() == b"older archive"
    finally:
        big.unlink()


# --- the archive format behind the fast write path: chunked gzip members, incompressible pieces stored ----------------

def gzip_members(path):
    """Number of gzip members in the file (each must be complete)."""
    data = open(path, "rb").read()
    members = 0
    while data:
        d = zlib.decompressobj(31)
        d.decompress(data)
        assert d.eof, "truncated member"
        members += 1
        data = d.unused_data
    return members


def test_chunked_archive_is_an_ordinary_tar_gz(run_module, live_state, tmp_path):  # noqa: F811
    media = live_state.state / "media"
    media.mkdir(exist_ok=True)
    (media / "photo.jpg").write_bytes(os.urandom(9 * 1024 * 1024))
    try:
        kind, res = backup(run_module, live_state.state, tmp_path / "dest")
    finally:
        (media / "photo.jpg").unlink()
    assert kind == "exit", res
    assert gzip_members(res["path"]) >= 3  # 4 MiB pieces
    assert res["size"] < res["bytes"] * 1.01  # the random photo was stored, not inflated by a futile deflate
    subprocess.run(["gzip", "-t", res["path"]], check=True)
    names = subprocess.run(["tar", "-tzf", res["path"]], check=True, capture_output=True, text=True).stdout.split()
    assert "payload/media/photo.jpg" in names and names[-1] == "manifest.json"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert len(verify(res["path"], str(scratch))["files"]) == res["files"]


def test_a_flipped_byte_in_a_stored_piece_is_caught(run_module, live_state, tmp_path):  # noqa: F811
    """A stored piece has no deflate structure to break: only the gzip CRC and the manifest sha256 catch damage."""
    media = live_state.state / "media"
    media.mkdir(exist_ok=True)
    (media / "clip.mp4").write_bytes(os.urandom(6 * 1024 * 1024))
    try:
        kind, res = backup(run_module, live_state.state, tmp_path / "dest")
    finally:
        (media / "clip.mp4").unlink()
    assert kind == "exit", res
    bad = tmp_path / "flipped.tar.gz"
    damaged_copy(res["path"], bad)
    with tarfile.open(res["path"]) as tf:
        manifest = json.load(tf.extractfile("manifest.json"))
    with pytest.raises(Exception, match="incorrect data check|does not match"):
        verify_written(str(bad), manifest)
    kind, out = run_module(openclaw_restore.main, dict(archive=str(bad), state_dir="/nonexistent", owner="root",
                                                       group="root", installed_version="2026.9.6", verify_only=True))
    assert kind == "fail" and "before touching the gateway" in out["msg"]
