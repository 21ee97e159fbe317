#!/usr/bin/env python3
"""The handbook's daily/weekly/monthly checklists, run on a gateway host (stdlib only).

Prints one JSON document: {"period": ..., "results": [{"item", "status", "detail"}]} with
status PASS, WARN or FAIL per item. Items that cannot be automated are not listed; items
whose prerequisite is missing (no backups yet, no previous report to compare) say so as WARN
rather than passing silently. State for trend items is kept in --state-dir.
"""

import argparse
import glob
import gzip
import json
import os
import time

# module_utils/openclaw_host.py, shipped beside this script by check.yml (on PYTHONPATH)
from openclaw_host import (
    container_exec_argv,
    container_show,
    gateway_env,
    http_json,
    parse_json,
    process_stats,
    process_tree,
    run,
    run_gateway_cli,
    summarize_channels,
    unit_show,
    unit_usage,
)

LEVELS = {"ERROR", "FATAL"}


class Ctx:
    def __init__(self, cfg):
        self.cfg = cfg
        self.results = []

    def add(self, item, status, detail):
        self.results.append({"item": item, "status": status, "detail": detail})

    def cli(self, *args, timeout=90):
        """Run the installed openclaw CLI as the service owner (a compose gateway's inside its container, which has
        the CLI, its config and its state); (rc, parsed JSON or None, text)."""
        c = self.cfg
        if c.get("container"):
            rc, out, err = run(container_exec_argv(c["engine"], c["container"], ["openclaw", *args]), timeout=timeout)
        else:
            rc, out, err = run_gateway_cli(c["cli"], args, owner=c.get("run_as"), timeout=timeout,
                                           env=gateway_env(c["node_bin_dir"], c["config_path"], c["state_dir"]))
        return rc, parse_json(out), (out + err).strip()


def get_json(url):
    status, data, _err = http_json(url, 5)
    return status, data


def gateway_state(cfg):
    """What runs the gateway, as the checks need it: its name, whether it runs, its restarts, and the resident memory
    over all its processes (the systemd unit's cgroup, or the compose container's process tree)."""
    if cfg.get("container"):
        c = container_show(cfg["engine"], cfg["container"])
        pid = c.get("pid", 0) if c.get("status") == "running" else 0
        return dict(name=f"container {cfg['container']}", running=c.get("status") == "running",
                    state=c.get("status", "absent"), restarts=c.get("restarts", "?"),
                    memory_bytes=process_stats(process_tree(pid))["memory_bytes"])
    props = unit_show(cfg["unit"], ("ActiveState", "ControlGroup", "NRestarts"), cfg["scope"], cfg["user"])
    return dict(name=cfg["unit"], running=props.get("ActiveState") == "active", state=props.get("ActiveState", "unknown"),
                restarts=props.get("NRestarts", "?"), memory_bytes=unit_usage(props.get("ControlGroup", ""))["memory_bytes"])


def log_records(log_file):
    for f in sorted(glob.glob(log_file + "-*")) + [log_file]:
        opener = gzip.open if f.endswith(".gz") else open
        try:
            with opener(f, "rt", errors="replace") as fh:
                for line in fh:
                    try:
                        meta = json.loads(line).get("_meta", {})
                    except (ValueError, AttributeError):
                        continue
                    yield str(meta.get("date", "")), str(meta.get("logLevelName", "")).upper()
        except OSError:
            continue


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))


def load_state(cfg, name):
    try:
        with open(os.path.join(cfg["state_dir_ops"], name)) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def save_state(cfg, name, data):
    os.makedirs(cfg["state_dir_ops"], exist_ok=True)
    tmp = os.path.join(cfg["state_dir_ops"], f".{name}.tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh)
    os.replace(tmp, os.path.join(cfg["state_dir_ops"], name))


# --- daily ---------------------------------------------------------------------
def daily(ctx):
    cfg = ctx.cfg
    gw = gateway_state(cfg)
    _s, live = get_json(f"http://127.0.0.1:{cfg['port']}/healthz")
    rs, ready = get_json(f"http://127.0.0.1:{cfg['port']}/readyz")
    if gw["running"] and live and live.get("ok") is True:
        ok_ready = bool(ready and ready.get("ready") is True and rs == 200)
        ctx.add("gateway process running", "PASS" if ok_ready else "WARN",
                f"{gw['name']} {gw['state']}, live" + ("" if ok_ready else f", not ready: {(ready or {}).get('failing')}"))
    else:
        ctx.add("gateway process running", "FAIL", f"{gw['name']} is {gw['state']}, /healthz not live")

    rc, data, text = ctx.cli("health", "--json", "--timeout", "10000", timeout=40)
    chans = None
    if data and data.get("ok") is True and isinstance(data.get("channels"), dict):
        chans = summarize_channels(data)
        down = chans["disconnected"]
        ctx.add("all configured channels connected", "FAIL" if down else "PASS",
                f"{chans['connected']}/{chans['configured']} connected" + (f"; down: {', '.join(down)}" if down else ""))
    else:
        ctx.add("all configured channels connected", "WARN", f"deep check failed (rc={rc}): {text[-200:]}")

    since = iso(time.time() - 86400)
    errors = sum(1 for d, lv in log_records(cfg["log_file"]) if d >= since and lv in LEVELS)
    status = "PASS" if errors == 0 else ("WARN" if errors <= cfg["error_log_fail_threshold"] else "FAIL")
    if not os.path.isfile(cfg["log_file"] or ""):  # no log read is not "no errors"
        status, errors = "WARN", f"no gateway log at {cfg['log_file'] or '(unknown)'}: 0"
    ctx.add("no severe errors in the last 24 h", status, f"{errors} ERROR/FATAL lines since {since}Z")

    if chans is not None and chans["configured"] == 0:
        # `openclaw pairing list` errors (into the shared gateway log) when no DM channel exists
        ctx.add("pending pairing requests handled", "PASS", "no channels configured: nothing to pair")
    else:
        rc, data, text = ctx.cli("pairing", "list", "--json", timeout=40)
        if rc == 0 and data is not None:
            pending = data if isinstance(data, list) else data.get("requests", data.get("pending", []))
            n = len(pending) if isinstance(pending, list) else 0
            ctx.add("pending pairing requests handled", "PASS" if n == 0 else "WARN", f"{n} pending")
        else:
            ctx.add("pending pairing requests handled", "WARN", f"`openclaw pairing list --json` failed: {text[-200:]}")

    mem = gw["memory_bytes"]
    mb = mem / 1048576
    status = "PASS" if mem < cfg["memory_warn_bytes"] else ("WARN" if mem < cfg["memory_fail_bytes"] else "FAIL")
    if mem == 0:
        status = "FAIL"
    ctx.add("memory within range", status, f"{mb:.0f} MB over all {gw['name']} processes "
            f"(warn {cfg['memory_warn_bytes'] // 1048576} MB)")
    return mem


# --- weekly --------------------------------------------------------------------
def weekly(ctx):
    mem = resource_trend(ctx)
    error_trend(ctx)
    backup_integrity(ctx)
    dependencies(ctx)
    configuration_audit(ctx)
    save_state(ctx.cfg, "weekly.json", {"at": iso(time.time()), "memory_bytes": mem})


def resource_trend(ctx):
    """Memory over all the gateway's processes against last week's baseline; returns this week's."""
    gw = gateway_state(ctx.cfg)
    mem = gw["memory_bytes"]
    prev = load_state(ctx.cfg, "weekly.json")
    if prev and prev.get("memory_bytes"):
        growth = (mem - prev["memory_bytes"]) / prev["memory_bytes"]
        ctx.add("resource usage trend", "WARN" if growth > 0.25 else "PASS",
                f"memory {mem // 1048576} MB vs {prev['memory_bytes'] // 1048576} MB on {prev['at']} ({growth:+.0%}); "
                f"restarts {gw['restarts']}")
    else:
        ctx.add("resource usage trend", "WARN", f"first run: baseline {mem // 1048576} MB recorded, trend from next week")
    return mem


def error_trend(ctx):
    per_day = {}
    since = iso(time.time() - 7 * 86400)
    for d, lv in log_records(ctx.cfg["log_file"]):
        if d >= since and lv in LEVELS:
            per_day[d[:10]] = per_day.get(d[:10], 0) + 1
    days = [per_day.get(iso(time.time() - i * 86400)[:10], 0) for i in range(6, -1, -1)]
    rising = days[-1] > 0 and days[-1] > 2 * max(1, sum(days[:-1]) / 6)
    ctx.add("error log statistics and trend", "WARN" if rising else "PASS", f"ERROR/FATAL per day, oldest first: {days}")


def backup_integrity(ctx):
    """Verified before this script by the playbook with the restore's own verifier (newest archive of every set)."""
    cfg = ctx.cfg
    verified = cfg.get("backup_verified") or []
    encrypted = glob.glob(os.path.join(cfg["backup_dir"], "*.age"))
    if not verified:
        ctx.add("backup integrity", "WARN", f"no backup archives in {cfg['backup_dir']}"
                + (f" (only {len(encrypted)} encrypted ones, verified where the key is)" if encrypted else ""))
        return
    bad = [v for v in verified if not v.get("ok")]
    names = ", ".join(os.path.basename(v["archive"]) for v in verified)
    ctx.add("backup integrity", "FAIL" if bad else "PASS",
            "; ".join(f"{os.path.basename(v['archive'])}: {v.get('detail', '')[:200]}" for v in bad)
            if bad else f"newest archive of each set verified (paths, sha256, SQLite integrity): {names}")


def dependencies(ctx):
    """`npm audit` of the installed package and its version against the registry's latest."""
    cfg = ctx.cfg
    registry = cfg.get("registry", "https://registry.npmjs.org/")
    if cfg.get("container"):
        # the image's own npm and install (its recipe runs npm install --prefix /opt/openclaw); the root file system is
        # read-only, so npm's cache goes to the container's /tmp
        pkg_dir, installed = "/opt/openclaw", cfg.get("version", "?")

        def npm(*args, timeout):
            return run(container_exec_argv(cfg["engine"], cfg["container"], ["npm", *args, "--cache", "/tmp/.npm"]),
                       timeout=timeout)
    else:
        pkg_dir = os.path.realpath(os.path.join(os.path.dirname(cfg["cli"]), "..", ".."))
        installed = os.path.basename(pkg_dir)
        npm_env = dict(os.environ, PATH=cfg["node_bin_dir"] + ":/usr/bin:/bin", NODE_EXTRA_CA_CERTS=cfg.get("ca_bundle", ""))

        def npm(*args, timeout):
            return run([os.path.join(cfg["node_bin_dir"], "npm"), *args], timeout=timeout, env=npm_env)
    _rc, out, err = npm("audit", "--omit=dev", "--json", "--prefix", pkg_dir, timeout=180)
    report = parse_json(out)
    try:
        vul = report["metadata"]["vulnerabilities"]
        crit, high = vul.get("critical", 0), vul.get("high", 0)
        ctx.add("dependency security scan", "FAIL" if crit else ("WARN" if high else "PASS"),
                "npm audit: " + ", ".join(f"{k}={v}" for k, v in sorted(vul.items())))
    except (KeyError, TypeError, AttributeError) as exc:
        reason = (report.get("message") if isinstance(report, dict) else None) or err.strip() or repr(exc)
        ctx.add("dependency security scan", "WARN", f"npm audit gave no report: {str(reason)[:200]}")

    rc, out, err = npm("view", "openclaw", "version", "--registry", registry, timeout=60)
    latest = out.strip()
    if rc != 0 or not latest:
        ctx.add("version drift", "WARN", f"registry not reachable: {err.strip()[-200:]}")
    else:
        ctx.add("version drift", "PASS" if latest == installed else "WARN", f"installed {installed}, registry latest {latest}")


def configuration_audit(ctx):
    _rc, data, _text = ctx.cli("config", "validate", "--json", timeout=60)
    valid = bool(data and data.get("valid"))
    _rc, lint, _text = ctx.cli("doctor", "--lint", "--json", timeout=120)
    findings = (lint or {}).get("findings", []) if isinstance(lint, dict) else []
    errors = [f for f in findings if f.get("severity") in ("error", "critical")]
    status = "FAIL" if not valid or errors else ("WARN" if findings else "PASS")
    ctx.add("configuration audit", status, f"config valid={valid}; doctor --lint findings={len(findings)} "
            f"({', '.join(sorted({f.get('checkId', '?') for f in findings}))[:300]})")


# --- monthly -------------------------------------------------------------------
def monthly(ctx):
    cfg = ctx.cfg
    samples = []
    for _probe in range(20):
        t0 = time.monotonic()
        get_json(f"http://127.0.0.1:{cfg['port']}/readyz")
        samples.append((time.monotonic() - t0) * 1000)
    samples.sort()
    median = samples[len(samples) // 2]
    _s, ready = get_json(f"http://127.0.0.1:{cfg['port']}/readyz")
    p99 = ((ready or {}).get("eventLoop") or {}).get("delayP99Ms")
    prev = load_state(cfg, "monthly.json")
    if prev:
        worse = median > 1.5 * max(prev["readyz_median_ms"], 1.0)
        ctx.add("performance baseline comparison", "WARN" if worse else "PASS",
                f"/readyz median {median:.1f} ms (was {prev['readyz_median_ms']:.1f} ms on {prev['at']}); "
                f"event loop p99 {p99} ms")
    else:
        ctx.add("performance baseline comparison", "WARN",
                f"first run: baseline /readyz median {median:.1f} ms, event loop p99 {p99} ms recorded")
    rc, data, text = ctx.cli("security", "audit", "--json", timeout=120)
    if isinstance(data, dict) and isinstance(data.get("summary"), dict):
        s = data["summary"]
        failing = set(cfg["audit_fail_severities"])
        bad = [f.get("checkId") for f in data.get("findings", []) if f.get("severity") in failing]
        ctx.add("security configuration audit", "FAIL" if bad else ("WARN" if s.get("warn") else "PASS"),
                f"critical={s.get('critical', 0)} warn={s.get('warn', 0)} info={s.get('info', 0)}"
                + (f"; failing: {', '.join(bad)}" if bad else ""))
    else:
        ctx.add("security configuration audit", "WARN", f"`openclaw security audit --json` failed: {text[-200:]}")
    old = [f for f in glob.glob(cfg["log_file"] + "-*") if os.path.getmtime(f) < time.time() - cfg["log_retention_days"] * 86400]
    size = sum(os.path.getsize(f) for f in glob.glob(cfg["log_file"] + "*"))
    ctx.add("long-term log archive cleanup", "WARN" if old else "PASS",
            f"{len(old)} archives older than {cfg['log_retention_days']} d; {size // 1024} KiB of logs in total")
    drill = load_state(cfg, "restore-drill.json")
    if drill and drill.get("ok") and drill.get("at", "") >= iso(time.time() - 35 * 86400):
        ctx.add("restore drill", "PASS", f"last successful drill {drill['at']}")
    else:
        ctx.add("restore drill", "WARN", "no successful restore drill recorded in the last 35 days")
    save_state(cfg, "monthly.json", {"at": iso(time.time()), "readyz_median_ms": median})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("period", choices=["daily", "weekly", "monthly"])
    ap.add_argument("config", help="JSON with the gateway paths and thresholds")
    a = ap.parse_args()
    cfg = json.loads(a.config)
    for key in ("port", "error_log_fail_threshold", "memory_warn_bytes", "memory_fail_bytes", "log_retention_days"):
        cfg[key] = int(cfg[key])
    ctx = Ctx(cfg)
    {"daily": daily, "weekly": weekly, "monthly": monthly}[a.period](ctx)
    print(json.dumps({"period": a.period, "at": iso(time.time()), "results": ctx.results}))


if __name__ == "__main__":
    main()
