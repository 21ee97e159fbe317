#!/usr/bin/env python3
"""OpenClaw metrics collector: writes a node_exporter textfile (Prometheus text format).

The gateway exports no Prometheus metrics, so this produces them from its probe endpoints,
its unit's cgroup, the authenticated `openclaw health --json` (channels), and the markers
that the backup and token features write. Stdlib only, plus the host library openclaw_host.py
(module_utils/, stdlib only too) that the openclaw_monitoring role installs beside it; run by a
systemd timer. The textfile is written to a temporary name in the same directory and renamed,
so node_exporter never reads a half-written file.

Usage: openclaw-metrics-collector.py [--config /etc/openclaw-ops/collector.json] [--stdout]
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
# module_utils/openclaw_host.py, installed beside this script
from openclaw_host import (  # noqa: E402
    GATEWAY_PORT,
    gateway_env,
    http_json,
    parse_json,
    probe_endpoints,
    run,
    run_gateway_cli,
    summarize_channels,
    unit_show,
    unit_usage,
)

DEFAULTS = {
    "port": GATEWAY_PORT,
    "unit": "openclaw-gateway.service",
    "scope": "system",
    "user": "",
    "deep": True,
    "deep_timeout": 10,
    # a busy host can take seconds to answer; a timeout here writes openclaw_up 0, which pages after a minute
    "probe_timeout": 10,
    "cli": "/opt/openclaw/current/node_modules/.bin/openclaw",
    "node_bin_dir": "",
    "config_path": "",
    "state_dir": "",
    "run_as": "",
    "marker_dir": "/var/lib/openclaw-ops/markers",
    "textfile": "/var/lib/prometheus/node-exporter/openclaw.prom",
    "backup_dir": "",
    "journal": True,
}


def deep_health(cfg):
    """The authenticated `openclaw health --json` payload, or None when unavailable."""
    rc, out, _err = run_gateway_cli(cfg["cli"], ["health", "--json", "--timeout", str(int(cfg["deep_timeout"]) * 1000)],
                                    owner=cfg["run_as"], timeout=int(cfg["deep_timeout"]) + 20,
                                    env=gateway_env(cfg["node_bin_dir"], cfg["config_path"], cfg["state_dir"]))
    data = parse_json(out)
    if rc == 124 or not isinstance(data, dict) or data.get("ok") is not True or not isinstance(data.get("channels"), dict):
        return None
    return data


def deep_series(data):
    """Channels, sessions and delivery queues from the health payload. Queue depth: the gateway lists only pressured
    ingress lanes (retried 8+ times with an error, or a claim stale for 30 min) and dead-lettered entries, so 0 is the
    usual value; last activity: the newest `updatedAt` of the recent sessions."""
    counts = summarize_channels(data)
    out = [("openclaw_channels_configured", "Channels configured.", "gauge", {}, counts["configured"]),
           ("openclaw_channels_connected", "Channels connected.", "gauge", {}, counts["connected"])]
    sessions = data.get("sessions") if isinstance(data.get("sessions"), dict) else {}
    if isinstance(sessions.get("count"), int):
        out.append(("openclaw_sessions", "Sessions in the default agent's store.", "gauge", {}, sessions["count"]))
    stamps = [r.get("updatedAt") for r in sessions.get("recent") or [] if isinstance(r, dict)]
    stamps = [t for t in stamps if isinstance(t, (int, float)) and not isinstance(t, bool)]
    if stamps:
        out.append(("openclaw_last_activity_timestamp_seconds", "Newest session update (health sessions.recent).",
                    "gauge", {}, round(max(stamps) / 1000, 3)))
    queues = data.get("deliveryQueues") if isinstance(data.get("deliveryQueues"), dict) else {}

    def total(key, field):
        return sum(int(q.get(field) or 0) for q in queues.get(key) or [] if isinstance(q, dict))
    out.append(("openclaw_delivery_queue_pending", "Pending and claimed entries in pressured ingress lanes.", "gauge", {},
                total("ingressPressure", "pendingCount") + total("ingressPressure", "claimedCount")))
    out.append(("openclaw_delivery_queue_blocked", "Blocked entries in pressured ingress lanes.", "gauge", {},
                total("ingressPressure", "blockedCount")))
    out.append(("openclaw_delivery_queue_dead_letter", "Dead-lettered delivery entries (outbound and inbound).", "gauge",
                {}, total("failed", "count") + total("ingressFailed", "count")))
    return out


def event_loop(readyz):
    """The event-loop figures /readyz reports (`eventLoop`: delayP99Ms, delayMaxMs, utilization, degraded)."""
    loop = readyz.get("eventLoop") if isinstance(readyz, dict) else None
    if not isinstance(loop, dict):
        return []
    out = []
    for key, name, text, scale in (
        ("delayP99Ms", "openclaw_event_loop_delay_p99_seconds", "Event-loop delay, 99th percentile (/readyz).", 1000),
        ("delayMaxMs", "openclaw_event_loop_delay_max_seconds", "Event-loop delay, maximum (/readyz).", 1000),
        ("utilization", "openclaw_event_loop_utilization", "Event-loop utilization 0-1 (/readyz).", 1),
    ):
        if isinstance(loop.get(key), (int, float)) and not isinstance(loop.get(key), bool):
            out.append((name, text, "gauge", {}, round(loop[key] / scale, 6)))
    if isinstance(loop.get("degraded"), bool):
        out.append(("openclaw_event_loop_degraded", "1 when /readyz says the event loop is degraded.", "gauge", {},
                    int(loop["degraded"])))
    return out


def tree_usage(root):
    """(bytes on disk, size of the largest SQLite WAL file) below `root`; None when it cannot be read."""
    total, wal = 0, 0
    if not root or not os.path.isdir(root):
        return None
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += st.st_blocks * 512
            if name.endswith("-wal"):
                wal = max(wal, st.st_size)
    return total, wal


def journal_bytes():
    """What `journalctl --disk-usage` reports, in bytes; None without journald."""
    out = run(["journalctl", "--disk-usage"], timeout=20)[1]
    found = re.search(r"take up ([0-9.]+)([BKMGT])", out or "")
    return round(float(found.group(1)) * 1024 ** "BKMGT".index(found.group(2))) if found else None


def growth(cfg):
    """What grows on a gateway host until it fails: the state dir and its SQLite WAL files, the backup dir, the journal,
    and the free space under the state and backup dirs."""
    out = []
    state = tree_usage(cfg["state_dir"])
    if state is not None:
        out.append(("openclaw_state_dir_bytes", "Disk used by the gateway's state directory.", "gauge", {}, state[0]))
        out.append(("openclaw_sqlite_wal_max_bytes", "Size of the largest SQLite WAL file in the state directory.",
                    "gauge", {}, state[1]))
    backups = tree_usage(cfg["backup_dir"])
    if backups is not None:
        out.append(("openclaw_backup_dir_bytes", "Disk used by the backup directory.", "gauge", {}, backups[0]))
    for path, kind in ((cfg["state_dir"], "state"), (cfg["backup_dir"], "backup")):
        if path and os.path.isdir(path):
            out.append(("openclaw_filesystem_free_bytes", "Free space (for non-root users) under the directory.",
                        "gauge", {"dir": kind}, shutil.disk_usage(path).free))
    journal = journal_bytes() if cfg["journal"] else None
    if journal is not None:
        out.append(("openclaw_journal_bytes", "Disk used by the systemd journal (journalctl --disk-usage).", "gauge", {},
                    journal))
    return out


def marker(cfg, name):
    """Epoch seconds stored in a marker file (content, else mtime); None when absent."""
    path = os.path.join(cfg["marker_dir"], name)
    try:
        with open(path) as fh:
            text = fh.read().strip()
        return float(text) if text else os.stat(path).st_mtime
    except (OSError, ValueError):
        return None


def esc(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def collect(cfg):
    started = time.monotonic()
    base = f"http://127.0.0.1:{int(cfg['port'])}"
    m = []  # (name, help, type, labels, value)
    probe = probe_endpoints(lambda url: http_json(url, float(cfg["probe_timeout"])), base)
    up, ready, failing, startupz = probe["live"], probe["ready"], probe["failing"], probe["raw"]["/startupz"]
    m.append(("openclaw_up", "1 when /healthz reports the gateway live.", "gauge", {}, int(up)))
    m.append(("openclaw_ready", "1 when /readyz reports ready.", "gauge", {}, int(ready)))
    m.append(("openclaw_failing_checks", "Readiness checks /readyz reports failing.", "gauge", {}, len(failing)))
    m += event_loop(probe["raw"].get("/readyz"))
    if startupz and startupz.get("version"):
        m.append(("openclaw_build_info", "Running gateway version.", "gauge", {"version": startupz["version"]}, 1))
    if startupz and isinstance(startupz.get("uptimeMs"), (int, float)):
        m.append(("openclaw_uptime_seconds", "Gateway uptime.", "gauge", {}, round(startupz["uptimeMs"] / 1000, 3)))
    props = unit_show(cfg["unit"], ("MainPID", "NRestarts", "ControlGroup", "ActiveState"), cfg["scope"], cfg["user"])
    if props:
        m.append(("openclaw_restarts_total", "Automatic restarts of the unit (NRestarts).", "counter", {},
                  int(props.get("NRestarts") or 0)))
        usage = unit_usage(props.get("ControlGroup", ""))
        if usage["processes"]:
            m.append(("openclaw_memory_bytes", "Resident memory of all the unit's processes.", "gauge", {},
                      usage["memory_bytes"]))
            m.append(("openclaw_cpu_seconds_total", "CPU time of the unit's live processes.", "counter", {},
                      usage["cpu_seconds"]))
            m.append(("openclaw_processes", "Processes in the unit's cgroup.", "gauge", {}, usage["processes"]))
    if cfg["deep"] and up:
        data = deep_health(cfg)
        m.append(("openclaw_deep_check_ok", "1 when `openclaw health --json` answered.", "gauge", {}, int(data is not None)))
        if data is not None:
            m += deep_series(data)
    for name, fname, text in (
        ("openclaw_last_backup_success_timestamp_seconds", "backup_success", "Time of the last successful backup."),
        ("openclaw_token_last_rotated_timestamp_seconds", "token_rotated", "Time of the last token rotation."),
    ):
        value = marker(cfg, fname)
        if value is not None:  # absent marker = absent metric, never a misleading zero
            m.append((name, text, "gauge", {}, value))
    m += growth(cfg)
    m.append(("openclaw_collector_duration_seconds", "Time this collection took.", "gauge", {},
              round(time.monotonic() - started, 3)))
    m.append(("openclaw_collector_last_run_timestamp_seconds", "When this collection ran.", "gauge", {},
              round(time.time(), 3)))
    return m


def render(metrics):
    lines, seen = [], set()
    for name, text, kind, labels, value in metrics:
        if name not in seen:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
            seen.add(name)
        lab = ",".join(f'{k}="{esc(v)}"' for k, v in sorted(labels.items()))
        lines.append(f"{name}{{{lab}}} {value}" if lab else f"{name} {value}")
    return "\n".join(lines) + "\n"


def write_atomic(path, text):
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".openclaw.prom.", dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def config_problems(cfg):
    """What is wrong with a configuration: unknown keys, and values not of the default's type (or a port not 1-65535)."""
    problems = [f"unknown key {key!r}" for key in cfg if key not in DEFAULTS]
    for key, default in DEFAULTS.items():
        if key in cfg and type(cfg[key]) is not type(default):
            problems.append(f"{key} must be {type(default).__name__}, got {cfg[key]!r}")
    if isinstance(cfg.get("port"), int) and not 1 <= cfg["port"] <= 65535:
        problems.append(f"port must be 1-65535, got {cfg['port']}")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="/etc/openclaw-ops/collector.json")
    ap.add_argument("--stdout", action="store_true", help="print instead of writing the textfile")
    ap.add_argument("--check-config", metavar="PATH", help="check a configuration file and exit (the role's validate)")
    args = ap.parse_args(argv)
    if args.check_config:
        try:
            with open(args.check_config) as fh:
                problems = config_problems(json.load(fh))
        except (OSError, ValueError, AttributeError) as exc:
            problems = [f"not a JSON object: {exc}"]
        for problem in problems:
            print(f"{args.check_config}: {problem}", file=sys.stderr)
        return 1 if problems else 0
    cfg = dict(DEFAULTS)
    if os.path.exists(args.config):
        with open(args.config) as fh:
            cfg.update(json.load(fh))
    text = render(collect(cfg))
    if args.stdout:
        sys.stdout.write(text)
    else:
        write_atomic(cfg["textfile"], text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
