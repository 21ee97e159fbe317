#!/usr/bin/env python3
"""OpenClaw metrics collector: writes a node_exporter textfile (Prometheus text format).

The gateway exports no Prometheus metrics, so this produces them from its probe endpoints,
its unit's cgroup, the authenticated `openclaw health --json` (channels), and the markers
that the backup and token features write. Stdlib only; shipped by the openclaw_monitoring
role and run by a systemd timer. The textfile is written to a temporary name in the same
directory and renamed, so node_exporter never reads a half-written file.

Usage: openclaw-metrics-collector.py [--config /etc/openclaw-ops/collector.json] [--stdout]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEFAULTS = {
    "port": 18789,
    "unit": "openclaw-gateway.service",
    "scope": "system",
    "user": "",
    "deep": True,
    "deep_timeout": 10,
    "cli": "/opt/openclaw/current/node_modules/.bin/openclaw",
    "node_bin_dir": "",
    "config_path": "",
    "state_dir": "",
    "run_as": "",
    "marker_dir": "/var/lib/openclaw-ops/markers",
    "textfile": "/var/lib/prometheus/node-exporter/openclaw.prom",
}


def get_json(url, timeout=3.0):
    """(status, dict or None); HTML answers (unknown paths) give None."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
    except (OSError, urllib.error.URLError):
        return -1, None
    try:
        data = json.loads(body)
    except ValueError:
        return status, None
    return status, data if isinstance(data, dict) else None


def systemctl_show(cfg):
    argv = ["systemctl"]
    if cfg["scope"] == "user":
        argv += ["--user", f"--machine={cfg['user']}@"]
    argv += ["show", cfg["unit"], "--property=MainPID,NRestarts,ControlGroup,ActiveState"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def cgroup_pids(control_group):
    for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"):
        pids = set()
        for dirpath, _dirs, files in os.walk(os.path.join(root, control_group.lstrip("/"))):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as fh:
                        pids.update(int(x) for x in fh.read().split())
                except OSError:
                    pass
        if pids:
            return sorted(pids)
    return []


def process_stats(pids):
    ticks = os.sysconf("SC_CLK_TCK")
    rss, cpu = 0, 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as fh:
                rss += next(int(x.split()[1]) * 1024 for x in fh if x.startswith("VmRSS:"))
            with open(f"/proc/{pid}/stat") as fh:
                rest = fh.read().rsplit(")", 1)[1].split()
                cpu += (int(rest[11]) + int(rest[12])) / ticks
        except (OSError, StopIteration, IndexError, ValueError):
            continue
    return rss, cpu


def channels(cfg):
    """(configured, connected) from the authenticated deep check, or None when unavailable."""
    argv = [cfg["cli"], "health", "--json", "--timeout", str(int(cfg["deep_timeout"]) * 1000)]
    if cfg["run_as"]:
        argv = ["runuser", "-u", cfg["run_as"], "--"] + argv
    env = dict(os.environ)
    if cfg["node_bin_dir"]:
        env["PATH"] = cfg["node_bin_dir"] + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for key, var in (("config_path", "OPENCLAW_CONFIG_PATH"), ("state_dir", "OPENCLAW_STATE_DIR")):
        if cfg[key]:
            env[var] = cfg[key]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=int(cfg["deep_timeout"]) + 20,
                             cwd="/")
        data = json.loads(res.stdout)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    if not isinstance(data, dict) or data.get("ok") is not True or not isinstance(data.get("channels"), dict):
        return None
    configured = connected = 0
    for rec in data["channels"].values():
        rec = rec if isinstance(rec, dict) else {}
        if rec.get("configured", True) is False:
            continue
        configured += 1
        probe = rec.get("probe") if isinstance(rec.get("probe"), dict) else {}
        if rec.get("connected") is True or probe.get("ok") is True or \
                str(rec.get("healthState", "")).lower() in ("healthy", "connected", "ok"):
            connected += 1
    return configured, connected


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
    _s, healthz = get_json(base + "/healthz")
    rstatus, readyz = get_json(base + "/readyz")
    _s, startupz = get_json(base + "/startupz")
    up = bool(healthz and healthz.get("ok") is True)
    ready = bool(readyz and readyz.get("ready") is True and rstatus == 200)
    failing = readyz.get("failing", []) if readyz and isinstance(readyz.get("failing"), list) else []
    m.append(("openclaw_up", "1 when /healthz reports the gateway live.", "gauge", {}, int(up)))
    m.append(("openclaw_ready", "1 when /readyz reports ready.", "gauge", {}, int(ready)))
    m.append(("openclaw_failing_checks", "Readiness checks /readyz reports failing.", "gauge", {}, len(failing)))
    if startupz and startupz.get("version"):
        m.append(("openclaw_build_info", "Running gateway version.", "gauge", {"version": startupz["version"]}, 1))
    if startupz and isinstance(startupz.get("uptimeMs"), (int, float)):
        m.append(("openclaw_uptime_seconds", "Gateway uptime.", "gauge", {}, round(startupz["uptimeMs"] / 1000, 3)))
    props = systemctl_show(cfg)
    if props:
        m.append(("openclaw_restarts_total", "Automatic restarts of the unit (NRestarts).", "counter", {},
                  int(props.get("NRestarts") or 0)))
        pids = cgroup_pids(props.get("ControlGroup", "")) if props.get("ControlGroup") else []
        if pids:
            rss, cpu = process_stats(pids)
            m.append(("openclaw_memory_bytes", "Resident memory of all the unit's processes.", "gauge", {}, rss))
            m.append(("openclaw_cpu_seconds_total", "CPU time of the unit's live processes.", "counter", {},
                      round(cpu, 2)))
            m.append(("openclaw_processes", "Processes in the unit's cgroup.", "gauge", {}, len(pids)))
    if cfg["deep"] and up:
        ch = channels(cfg)
        m.append(("openclaw_deep_check_ok", "1 when `openclaw health --json` answered.", "gauge", {}, int(ch is not None)))
        if ch is not None:
            m.append(("openclaw_channels_configured", "Channels configured.", "gauge", {}, ch[0]))
            m.append(("openclaw_channels_connected", "Channels connected.", "gauge", {}, ch[1]))
    for name, fname, text in (
        ("openclaw_last_backup_success_timestamp_seconds", "backup_success", "Time of the last successful backup."),
        ("openclaw_token_last_rotated_timestamp_seconds", "token_rotated", "Time of the last token rotation."),
    ):
        value = marker(cfg, fname)
        if value is not None:  # absent marker = absent metric, never a misleading zero
            m.append((name, text, "gauge", {}, value))
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="/etc/openclaw-ops/collector.json")
    ap.add_argument("--stdout", action="store_true", help="print instead of writing the textfile")
    args = ap.parse_args(argv)
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
