"""openclaw_backup: check mode, a verified archive of a small state, and the refusals before anything is written
(arguments, state directory, age, free space, lock) or after (a failed encryption leaves nothing behind). The
commands (age) are mocked; the backup of a running gateway is tests/integration/test_backup.py."""

import os
import shutil
import tarfile

import openclaw_backup
import pytest
from ansible.module_utils.openclaw_archive import verify
from ansible.module_utils.openclaw_backup_flow import lock_state
from ansible.module_utils.openclaw_state import sha256_file

AGE_KEY = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"


def backup(run_module, state, dest, check_mode=False, **extra):
    args = dict(state_dir=str(state), dest_dir=str(dest), marker_dir="", min_free_mb=0, openclaw_version="2026.9.6")
    return run_module(openclaw_backup.main, dict(args, **extra), check_mode=check_mode)


def test_check_mode_counts_what_would_be_saved_and_writes_nothing(run_module, state, tmp_path):
    kind, res = backup(run_module, state, tmp_path / "dest", check_mode=True)
    assert kind == "exit" and res["changed"] is True
    assert res["files"] == 3 and res["bytes"] > 0 and res["databases"] == {"state/openclaw.sqlite": None}
    assert "path" not in res and not (tmp_path / "dest").exists()


def test_a_backup_is_verified_named_and_marked(run_module, state, tmp_path):
    kind, res = backup(run_module, state, tmp_path / "dest", marker_dir=str(tmp_path / "markers"))
    assert kind == "exit", res
    assert os.path.basename(res["path"]).startswith("openclaw-backup-") and res["path"].endswith(".tar.gz")
    assert res["sha256"] == sha256_file(res["path"]) and res["size"] == os.path.getsize(res["path"])
    assert res["databases"] == {"state/openclaw.sqlite": 7} and res["encrypted"] is False
    assert (tmp_path / "markers" / "backup_success").is_file()
    assert sorted(os.listdir(tmp_path / "dest")) == [os.path.basename(res["path"])]  # no .partial, no scratch
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    manifest = verify(res["path"], str(scratch))
    assert manifest["openclaw_version"] == "2026.9.6" and len(manifest["files"]) == 3


def test_classes_select_part_of_the_state(run_module, state, tmp_path):
    kind, res = backup(run_module, state, tmp_path / "dest", classes=["config"])
    assert kind == "exit" and res["files"] == 1
    with tarfile.open(res["path"]) as tf:
        assert sorted(tf.getnames()) == ["manifest.json", "payload/openclaw.json"]


@pytest.mark.parametrize("bad, msg", [
    (dict(compresslevel=12), "compresslevel must be 0..9, got 12"),
    (dict(threads=0), "threads must be at least 1, got 0"),
    (dict(threads="many"), "unable to convert"),
    (dict(classes=["everything"]), "value of classes must be one or more of"),
])
def test_bad_arguments_are_refused(run_module, state, tmp_path, bad, msg):
    kind, res = backup(run_module, state, tmp_path / "dest", **bad)
    assert kind == "fail" and msg in res["msg"]
    assert not (tmp_path / "dest").exists()


def test_a_directory_that_is_not_a_state_is_refused(run_module, tmp_path):
    (tmp_path / "empty").mkdir()
    kind, res = backup(run_module, tmp_path / "empty", tmp_path / "dest")
    assert kind == "fail" and "does not look like an OpenClaw state directory" in res["msg"]


def test_encryption_without_the_age_cli_is_refused_before_writing(run_module, state, tmp_path, commands, monkeypatch):
    from ansible.module_utils import basic

    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, name, required=False, opt_dirs=None: None)
    kind, res = backup(run_module, state, tmp_path / "dest", encrypt_recipients=[AGE_KEY])
    assert kind == "fail" and "age CLI is not installed" in res["msg"] and "nothing was written" in res["msg"]
    assert not (tmp_path / "dest").exists()


def test_a_key_age_refuses_is_refused_before_writing(run_module, state, tmp_path, commands):
    commands.answers["--encrypt"] = (1, "", "malformed recipient \"age1nope\"\n")
    kind, res = backup(run_module, state, tmp_path / "dest", encrypt_recipients=["age1nope"])
    assert kind == "fail" and res["msg"].startswith("age refuses encrypt_recipients: malformed recipient")
    assert commands.calls[0] == ["/usr/bin/age", "--encrypt", "--output", os.devnull, "--recipient", "age1nope",
                                 os.devnull]  # the keys tried on empty input
    assert not (tmp_path / "dest").exists()


def test_a_failed_encryption_leaves_no_plaintext_and_no_partial(run_module, state, tmp_path, commands):
    def age(argv):
        if argv[-1] == os.devnull:
            return 0, "", ""
        open(argv[argv.index("--output") + 1], "wb").write(b"half")  # what a killed age leaves
        return 1, "", "write error: no space left on device"
    commands.answers["--encrypt"] = age
    kind, res = backup(run_module, state, tmp_path / "dest", encrypt_recipients=[AGE_KEY])
    assert kind == "fail" and "failed and was discarded" in res["msg"] and "age could not encrypt" in res["msg"]
    assert os.listdir(tmp_path / "dest") == []


def test_an_encrypted_backup_is_named_age_and_hashed_after_encryption(run_module, state, tmp_path, commands):
    def age(argv):
        if argv[-1] != os.devnull:
            shutil.copy(argv[-1], argv[argv.index("--output") + 1])  # stands in for the encryption
        return 0, "", ""
    commands.answers["--encrypt"] = age
    kind, res = backup(run_module, state, tmp_path / "dest", encrypt_recipients=[" " + AGE_KEY + " ", ""])
    assert kind == "exit", res
    assert res["encrypted"] is True and res["path"].endswith(".tar.gz.age")
    assert res["sha256"] == sha256_file(res["path"])
    assert os.listdir(tmp_path / "dest") == [os.path.basename(res["path"])]  # the plaintext is gone
    assert commands.calls[-1][4:6] == ["--recipient", AGE_KEY]


def test_not_enough_free_space_is_refused_with_the_figures(run_module, state, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1 << 30, 1 << 30, 5 << 20))
    kind, res = backup(run_module, state, tmp_path / "dest", min_free_mb=256)
    assert kind == "fail" and "Not enough free space" in res["msg"] and "5 MB free" in res["msg"]
    assert res["files"] == 3 and os.listdir(tmp_path / "dest") == []


def test_a_second_backup_of_the_same_state_waits_for_the_lock(run_module, state, tmp_path):
    held = lock_state(str(state), 0)
    try:
        kind, res = backup(run_module, state, tmp_path / "dest", lock_timeout=0)
    finally:
        held.close()
    assert kind == "fail" and f"Another backup of {state} is running" in res["msg"]
    assert os.listdir(tmp_path / "dest") == []
