"""The metrics collector's series from the gateway's own answers (roles/openclaw_monitoring/files/): the event loop of
/readyz, sessions, last activity and delivery queues of `openclaw health --json`, and the state dir's size and largest
SQLite WAL file. Payloads shaped like the real gateway's (2026.9.6); the collector itself runs on real hosts in
Molecule `default`."""

import importlib.util
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "module_utils"))
_spec = importlib.util.spec_from_file_location(
    "collector", ROOT / "roles" / "openclaw_monitoring" / "files" / "openclaw-metrics-collector.py")
collector = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collector)


def series(items):
    return {(name, tuple(sorted(labels.items()))): value for name, _help, _kind, labels, value in items}


def test_event_loop_from_readyz():
    got = series(collector.event_loop({"ready": True, "eventLoop": {
        "degraded": True, "delayP99Ms": 69.2, "delayMaxMs": 120, "utilization": 0.011, "reasons": ["delay"]}}))
    assert got == {("openclaw_event_loop_delay_p99_seconds", ()): 0.0692, ("openclaw_event_loop_delay_max_seconds", ()): 0.12,
                   ("openclaw_event_loop_utilization", ()): 0.011, ("openclaw_event_loop_degraded", ()): 1}
    assert collector.event_loop({"ready": True}) == [] and collector.event_loop(None) == []


def test_sessions_activity_and_queues_from_the_health_payload():
    data = {"ok": True, "channels": {}, "sessions": {"count": 2, "recent": [
        {"key": "a", "updatedAt": 1796077451115, "age": 5}, {"key": "b", "updatedAt": None, "age": None}]},
        "deliveryQueues": {"failed": [{"queueName": "outbound", "count": 3}],
                           "ingressFailed": [{"channelId": "tg", "accountId": "x", "count": 1}],
                           "ingressPressure": [{"channelId": "tg", "accountId": "x", "laneCount": 1, "pendingCount": 40,
                                                "claimedCount": 15, "blockedCount": 2, "oldestReceivedAt": 1}]}}
    got = series(collector.deep_series(data))
    assert got[("openclaw_sessions", ())] == 2
    assert got[("openclaw_last_activity_timestamp_seconds", ())] == 1796077451.115
    assert got[("openclaw_delivery_queue_pending", ())] == 55 and got[("openclaw_delivery_queue_blocked", ())] == 2
    assert got[("openclaw_delivery_queue_dead_letter", ())] == 4
    # an idle gateway: no recent session, no queue warnings (the field is omitted), so no activity series and zeros
    idle = series(collector.deep_series({"ok": True, "channels": {}, "sessions": {"count": 0, "recent": []}}))
    assert ("openclaw_last_activity_timestamp_seconds", ()) not in idle
    assert idle[("openclaw_delivery_queue_pending", ())] == 0 and idle[("openclaw_delivery_queue_dead_letter", ())] == 0


def test_state_dir_size_and_the_largest_wal(tmp_path):
    db = sqlite3.connect(tmp_path / "agent.sqlite")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE t (b BLOB)")
    db.executemany("INSERT INTO t VALUES (?)", [(b"x" * 65536,)] * 8)
    db.commit()
    total, wal = collector.tree_usage(str(tmp_path))
    assert wal == (tmp_path / "agent.sqlite-wal").stat().st_size > 8 * 65536
    assert total >= wal
    db.close()
    assert collector.tree_usage(str(tmp_path / "missing")) is None


def test_check_config_is_the_roles_validator(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_text('{"port": 18789, "unit": "openclaw-gateway.service", "deep": true, "backup_dir": "/var/backups/openclaw"}')
    assert collector.main(["--check-config", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text('{"port": "18789", "deep": "yes", "colour": 1}')
    assert collector.main(["--check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "unknown key 'colour'" in err and "port must be int, got '18789'" in err and "deep must be bool" in err
    (tmp_path / "list.json").write_text("[1]")
    assert collector.main(["--check-config", str(tmp_path / "list.json")]) == 1
    assert collector.main(["--check-config", str(tmp_path / "missing.json")]) == 1
