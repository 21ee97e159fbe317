"""Restore by date: openclaw_utc_time reads the operator's date, openclaw_restore_pick chooses from the list the
openclaw_archives module returns (the real listing of a directory, made here with module_utils' list_archives)."""

import datetime
import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible.module_utils.openclaw_archive import describe_archive, list_archives
from openclaw_filters import openclaw_restore_pick, openclaw_utc_time

SETS = ["backup", "config", "credentials", "agents"]


@pytest.mark.parametrize("value, expected", [
    ("2026-11-29", "2026-11-29T00:00:00Z"),
    ("2026-11-29T08:00", "2026-11-29T08:00:00Z"),
    ("2026-11-29 08:00:30", "2026-11-29T08:00:30Z"),
    ("2026-11-29T08:00:30Z", "2026-11-29T08:00:30Z"),
    (" 2026-11-29 ", "2026-11-29T00:00:00Z"),
    ("20261129T080030Z", "2026-11-29T08:00:30Z"),  # pasted from an archive name
    ("20261129", "2026-11-29T00:00:00Z"),
    (20261129, "2026-11-29T00:00:00Z"),  # an unquoted YAML number
    (datetime.date(2026, 11, 29), "2026-11-29T00:00:00Z"),  # an unquoted YAML date
    (datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))), "2026-11-29T08:00:00Z"),
])
def test_utc_time_accepts_dates_and_date_times(value, expected):
    assert openclaw_utc_time(value) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "2026-11-31", "2026-02-30", "2026-11-29T25:00", "29.11.2026",
                                   "2026-11-29T08:00+02:00", "2026/11/29", None, True, ["2026-11-29"]])
def test_utc_time_refuses_anything_else_with_an_empty_string(value):
    assert openclaw_utc_time(value) == ""


def archive(tmp_path, name, mtime=None):
    path = tmp_path / name
    path.write_bytes(b"x" * 10)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return name


@pytest.fixture
def listed(tmp_path):
    """A backup directory as the sets, doctor, the upgrade and a migration leave it, listed for real."""
    for name in ["openclaw-backup-gw1-20261127T033000Z.tar.gz", "openclaw-backup-gw1-20261128T033000Z.tar.gz",
                 "openclaw-backup-gw1-20261129T033000Z.tar.gz", "openclaw-backup-gw1-20261126T120000Z.tar.gz.age",
                 "openclaw-backup-gw1-20261128T120000Z.tar.gz.age", "openclaw-config-gw1-20261128T200000Z.tar.gz",
                 "openclaw-predoctor-gw1-20261128T210000Z.tar.gz", "openclaw-backup-gw1-20261128T040000Z.tar.gz.partial"]:
        archive(tmp_path, name)
    return list_archives(str(tmp_path), SETS, "gw1")


@pytest.mark.parametrize("before, expected", [
    ("", "openclaw-backup-gw1-20261129T033000Z.tar.gz"),  # no date: the newest full archive
    ("2026-11-29", "openclaw-backup-gw1-20261128T033000Z.tar.gz"),  # the config and predoctor archives are newer
    ("2026-11-28T03:30:00", "openclaw-backup-gw1-20261127T033000Z.tar.gz"),  # strictly before
    ("2026-11-28T03:30:01Z", "openclaw-backup-gw1-20261128T033000Z.tar.gz"),
    ("20261130T000000Z", "openclaw-backup-gw1-20261129T033000Z.tar.gz"),
    (datetime.date(2026, 11, 28), "openclaw-backup-gw1-20261127T033000Z.tar.gz"),
])
def test_pick_the_newest_full_plain_archive_before_the_date(listed, before, expected):
    assert openclaw_restore_pick(listed, before)["name"] == expected


def test_nothing_before_the_oldest_and_encrypted_ones_are_never_picked(listed):
    # the encrypted archive of 2026-11-26 is the only one before the 27th: it cannot be restored on the host
    assert openclaw_restore_pick(listed, "2026-11-27") == {}
    assert openclaw_restore_pick([], "") == {}


def test_a_bad_date_or_list_names_the_value(listed):
    with pytest.raises(AnsibleFilterError, match="'2026-13-01' \\(str\\) is not a UTC date"):
        openclaw_restore_pick(listed, "2026-13-01")
    with pytest.raises(AnsibleFilterError, match="got str"):
        openclaw_restore_pick("openclaw-backup-gw1.tar.gz", "")


def test_listing_reads_set_host_time_and_encryption_from_the_names(listed, tmp_path):
    by_name = {a["name"]: a for a in listed}
    assert "openclaw-backup-gw1-20261128T040000Z.tar.gz.partial" not in by_name  # still being written
    assert [a["name"] for a in listed][:2] == ["openclaw-backup-gw1-20261129T033000Z.tar.gz",  # newest first
                                              "openclaw-predoctor-gw1-20261128T210000Z.tar.gz"]
    assert [a["taken"] for a in listed] == sorted((a["taken"] for a in listed), reverse=True)
    enc = by_name["openclaw-backup-gw1-20261128T120000Z.tar.gz.age"]
    assert (enc["backup_set"], enc["host"], enc["encrypted"], enc["taken"], enc["taken_from"]) == \
        ("backup", "gw1", True, "2026-11-28T12:00:00Z", "name")
    assert by_name["openclaw-config-gw1-20261128T200000Z.tar.gz"]["backup_set"] == "config"
    assert by_name["openclaw-predoctor-gw1-20261128T210000Z.tar.gz"]["backup_set"] == "predoctor"
    assert by_name["openclaw-backup-gw1-20261129T033000Z.tar.gz"]["size"] == 10


@pytest.mark.parametrize("name, expected", [
    ("openclaw-backup-gw1-20261129T033000Z.tar.gz", ("backup", "gw1")),
    ("openclaw-backup-gw-1.example-20261129T033000Z.tar.gz", ("backup", "gw-1.example")),  # dashes in the host
    ("openclaw-preupgrade-2026.9.5-gw1-20261129T033000Z.tar.gz", ("preupgrade-2026.9.5", "gw1")),
    ("openclaw-backup-gw2-20261129T033000Z.tar.gz", ("backup", "gw2")),  # migrated from another host
    ("openclaw-weekly-db-20261129T033000Z.tar.gz", ("weekly", "db")),  # a set not configured here, another host
    ("openclaw-backup-nostart.tar.gz", ("backup", "")),  # no time in the name
    ("openclaw-backup-gw1-20261399T033000Z.tar.gz", ("backup", "")),  # digits, but no time
    ("flipped.tar.gz", ("", "")),
])
def test_describe_archive(name, expected):
    assert describe_archive(name, SETS, "gw1")[:2] == expected


def test_a_name_without_a_time_takes_the_file_time(tmp_path):
    archive(tmp_path, "openclaw-backup-nostart.tar.gz", mtime=1795923012)
    (a,) = list_archives(str(tmp_path), SETS, "gw1")
    assert (a["taken"], a["taken_from"], a["backup_set"]) == ("2026-11-29T03:30:12Z", "mtime", "backup")
    assert openclaw_restore_pick([a], "2026-11-30")["name"] == "openclaw-backup-nostart.tar.gz"
