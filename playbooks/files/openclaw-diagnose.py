#!/usr/bin/env python3
"""Support bundle of one OpenClaw gateway host (run by diagnose.yml through the script module, as root).

Collects service status, journal tail, gateway log tail, listening sockets on the port, Node and openclaw
versions, `openclaw config validate --json`, `openclaw doctor --lint --json`, the config (secrets masked),
disk and memory into a directory; masks every secret in every file (the gateway token read from its file
here, so it never passes through Ansible; JSON keys that name secrets; bearer/API-key shapes); classifies
the host with the handbook's decision tree (P0-P3, first action) into summary.json; packs a 0600 tar.gz.
Prints one JSON line: {"bundle": path, "class": ..., "action": ..., "reasons": [...]}. Standard library only, plus
the masking rules of module_utils/openclaw_redact.py (stdlib only too), which diagnose.yml ships beside it.
"""

import argparse
import gzip
import json
import os
import pwd
import re
import shutil
import tarfile
import tempfile
import time

# module_utils/openclaw_host.py (service control, cgroup accounting, probes, the CLI as the service owner) and
# module_utils/openclaw_redact.py (the masking rules that logs.yml applies too), shipped beside this script by
# diagnose.yml (on PYTHONPATH)
from openclaw_host import (
    SYSTEM_PATH,
    as_owner,
    container_exec_argv,
    gateway_env,
    http_json,
    parse_show,
    process_stats,
    process_tree,
    systemctl_argv,
    unit_usage,
)
from openclaw_host import run as run_argv
from openclaw_redact import mask_json, read_secrets, redact_line, redact_text


def run(argv, timeout=60, env=None, user=None):
    """(rc, combined output) of argv, never raising; as `user` (runuser, else sudo) when given."""
    rc, out, err = run_argv(as_owner(argv, user), timeout=timeout, env=env)
    return rc, out + (("\n" + err) if err else "")


def first_json(text):
    start = text.find("{")
    while start != -1:
        try:
            return json.JSONDecoder().raw_decode(text[start:])[0]
        except ValueError:
            start = text.find("{", start + 1)
    return None


def redact_dir(root, secrets):
    """Mask every file of the bundle in place: a JSON file as a whole (values under secret-naming keys), any other
    file line by line as logs.yml masks log lines; secret values and shapes everywhere."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            data = None
            if name.endswith(".json"):
                try:
                    data = json.loads(text)
                except ValueError:
                    pass
            if data is not None:
                text = redact_text(json.dumps(mask_json(data), indent=2, sort_keys=True) + "\n", secrets)
            else:
                text = "\n".join(redact_line(line, secrets) for line in text.split("\n"))
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)


def probe(port, path):
    """(status, body) of a probe endpoint; the body says the error when there was no answer."""
    status, data, error = http_json(f"http://127.0.0.1:{port}{path}", 3)
    return status, data if data is not None or status != -1 else {"error": error}


def classify(f, memory_warn_bytes, disk_warn_pct):
    """The handbook's decision tree (运维决策框架 impact -> 故障诊断流程 category) on the collected facts.

    Returns (class, category, first action, reasons)."""
    reasons = []
    if not f["live"]:
        reasons.append(f"/healthz does not answer (service {f['active_state']}, exit status {f['exit_status']})")
        if not f["config_valid"]:
            return ("P0", "start failure: configuration", "Fix openclaw.json (see config-validate.json), then restart: "
                    "ansible-playbook service.yml -e action=restart", reasons + ["config validate failed"])
        if f["port_owner"] and "openclaw" not in f["port_owner"] and "node" not in f["port_owner"]:
            return ("P0", "start failure: port in use", f"Free port {f['port']} (held by {f['port_owner']}) or change "
                    "openclaw_gateway_port, then start", reasons)
        if f["exit_status"] == "78":
            return ("P0", "start failure: refused startup (exit 78)", "Missing config or state migrated by a newer "
                    "version: check the journal; after a failed upgrade run rollback.yml", reasons)
        if f["active_state"] in ("inactive", "failed", "unknown", "absent", "not loaded"):
            return ("P0", "service down", "Start it and watch the journal: ansible-playbook service.yml -e action=start",
                    reasons)
        return ("P0", "start failure", "Read journal.txt and gateway-log.txt; run doctor.yml (backup first)", reasons)
    if not f["ready"] or f["channels_down"]:
        if f["failing"]:
            reasons.append("/readyz failing: " + ", ".join(f["failing"]))
        if f["channels_down"]:
            reasons.append("channels not connected: " + ", ".join(f["channels_down"]))
        return ("P1", "functional failure: channels", "Check the channels (openclaw channels status) and log in again "
                "where disconnected; then restart if readiness stays failing", reasons)
    perf = []
    if memory_warn_bytes and f["memory_bytes"] > memory_warn_bytes:
        perf.append(f"memory {f['memory_bytes'] // 1048576} MB above {memory_warn_bytes // 1048576} MB")
    if f["restarts"]:
        perf.append(f"{f['restarts']} automatic restarts")
    if f["disk_used_pct"] >= disk_warn_pct:
        perf.append(f"state disk {f['disk_used_pct']}% full")
    if perf:
        return ("P2", "degradation: resources", "Check load and tuning (docs/tuning.md); a graceful restart frees memory: "
                "ansible-playbook service.yml -e action=restart", reasons + perf)
    findings = f["lint_findings"]
    if findings:
        reasons.append(f"{len(findings)} doctor findings: " + "; ".join(findings[:5]))
        return ("P3", "advisory", "Review doctor-lint.json; apply safe fixes with doctor.yml (takes a backup first)",
                reasons)
    return ("P3", "healthy", "No action needed", ["live, ready, no findings"])


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    for opt in ("cli", "node-bin-dir", "state-dir", "config-path", "token-file", "log-file", "owner", "unit", "scope",
                "user", "manager", "compose-engine", "compose-container", "launchd-out", "launchd-err", "host"):
        ap.add_argument("--" + opt, default="")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--memory-warn-mb", type=int, default=1536)
    ap.add_argument("--disk-warn-pct", type=int, default=90)
    ap.add_argument("--dest", default="/tmp")
    ap.add_argument("--ignore-finding", action="append", default=[], help="doctor check id that is a deliberate choice")
    return ap.parse_args(argv)


class Bundle:
    """The bundle's directory in a private scratch directory; `save` writes one file into it."""

    def __init__(self, host):
        self.work = tempfile.mkdtemp(prefix="openclaw-diagnose-")
        self.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.name = f"openclaw-diagnose-{host or os.uname().nodename}-{self.stamp}"
        self.path = os.path.join(self.work, self.name)
        os.makedirs(self.path, mode=0o700)

    def save(self, fname, text):
        with open(os.path.join(self.path, fname), "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")

    def pack(self, dest, secrets):
        """Mask every file, pack a 0600 tar.gz into `dest`; returns (archive or "", leaked): an archive that still
        holds a secret is removed (the last line of defence)."""
        redact_dir(self.path, secrets)
        os.makedirs(dest, mode=0o700, exist_ok=True)
        archive = os.path.join(dest, self.name + ".tar.gz")
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as raw_out, tarfile.open(fileobj=raw_out, mode="w:gz") as tf:
            tf.add(self.path, arcname=self.name)
        shutil.rmtree(self.work, ignore_errors=True)
        with open(archive, "rb") as fh:
            data = gzip.decompress(fh.read())
        if any(s.strip().encode() in data for s in secrets):
            os.unlink(archive)
            return "", True
        return archive, False


def systemd_service(a, b, facts):
    """Status, properties and journal of the unit (both scopes); returns its cgroup."""
    sc = systemctl_argv(a.scope, a.user)
    b.save("service-status.txt", run(sc + ["status", "--no-pager", "-l", a.unit])[1])
    _rc, show = run(sc + ["show", a.unit, "--property=ActiveState,SubState,Result,ExecMainStatus,NRestarts,MainPID,"
                          "ActiveEnterTimestamp,FragmentPath,ControlGroup"])
    props = parse_show(show)
    b.save("service-show.txt", show)
    facts.update(active_state=props.get("ActiveState", "unknown"), exit_status=props.get("ExecMainStatus", ""),
                 restarts=int(props.get("NRestarts") or 0), main_pid=int(props.get("MainPID") or 0))
    jsel = ["--user-unit", a.unit] if a.scope == "user" else ["-u", a.unit]
    b.save("journal.txt", run(["journalctl", "--no-pager", "-n", str(a.lines)] + jsel)[1])
    return props.get("ControlGroup", "")


def launchd_service(a, b, facts):
    label = a.unit.rsplit(".service", 1)[0]
    domain = "system" if a.scope == "system" else "gui/" + str(pwd.getpwnam(a.user).pw_uid)
    _rc, out = run(["launchctl", "print", f"{domain}/{label}"])
    b.save("service-status.txt", out)
    state = re.search(r"state = (\S+)", out)
    facts.update(active_state=state.group(1) if state else "not loaded",
                 main_pid=int((re.search(r"pid = (\d+)", out) or [0, 0])[1]))
    tails = []
    for path in (a.launchd_out, a.launchd_err):
        if path:
            tails.append(f"==> {path} <==\n" + run(["tail", "-n", str(a.lines), path])[1])
    b.save("journal.txt", "\n".join(tails))
    return ""


def compose_service(a, b, facts):
    """The container's inspect and log tail; its memory over the container's process tree (it has no unit cgroup
    here: returns None)."""
    _rc, out = run([a.compose_engine, "inspect", a.compose_container])
    b.save("service-status.txt", out)
    info = first_json(out.lstrip("[ \n")) or {}
    st = info.get("State", {}) if isinstance(info, dict) else {}
    facts.update(active_state=st.get("Status", "absent"), exit_status=str(st.get("ExitCode", "")),
                 main_pid=int(st.get("Pid") or 0), restarts=int(info.get("RestartCount") or 0) if info else 0)
    facts["memory_bytes"] = process_stats(process_tree(facts["main_pid"]))["memory_bytes"]
    b.save("journal.txt", run([a.compose_engine, "logs", "--tail", str(a.lines), a.compose_container])[1])
    return None


def gateway_runtime(a, env):
    """`runtime(argv, timeout)`: a command of the gateway's runtime (node, openclaw) run where the gateway runs: inside
    a compose gateway's container (its user, config and state), else on the host as the service owner with its
    environment."""
    if a.manager == "compose":
        return lambda argv, timeout=60: run(container_exec_argv(a.compose_engine, a.compose_container, argv),
                                            timeout=timeout)
    paths = {"node": a.node_bin_dir + "/node", "openclaw": a.cli}
    return lambda argv, timeout=60: run([paths.get(argv[0], argv[0]), *argv[1:]], env=env, user=a.owner,
                                        timeout=timeout)


def gateway_view(a, b, facts, env):
    """Gateway log, sockets on the port, versions, and the gateway's own checks run as the service owner."""
    b.save("gateway-log.txt", run(["tail", "-n", str(a.lines), a.log_file])[1] if a.log_file else "(no log file)")
    rc, sockets = run(["ss", "-Hltnp", f"sport = :{a.port}"])
    if rc == 127:
        rc, sockets = run(["lsof", "-nP", f"-iTCP:{a.port}", "-sTCP:LISTEN"])
    b.save("sockets.txt", sockets)
    owner = re.search(r'users:\(\("([^"]+)"', sockets)
    facts["port_owner"] = owner.group(1) if owner else ""
    runtime = gateway_runtime(a, env)
    versions = [f"node: {runtime(['node', '--version'])[1].strip()}",
                f"openclaw: {runtime(['openclaw', '--version'])[1].strip()}",
                f"os: {' '.join(os.uname())}"]
    b.save("versions.txt", "\n".join(versions))
    rc, out = runtime(["openclaw", "config", "validate", "--json"], timeout=120)
    b.save("config-validate.json", json.dumps(first_json(out) or {"rc": rc, "output": out}, indent=2))
    facts["config_valid"] = rc == 0
    rc, out = runtime(["openclaw", "doctor", "--lint", "--json"], timeout=180)
    lint = first_json(out)
    b.save("doctor-lint.json", json.dumps(lint or {"rc": rc, "output": out}, indent=2))
    facts["lint_findings"] = [f"{x.get('severity')}: {x.get('checkId')}" for x in (lint or {}).get("findings", [])
                              if x.get("severity") in ("warning", "error", "critical")
                              and x.get("checkId") not in a.ignore_finding]


def probes_and_resources(a, b, facts, control_group):
    """The config (masked later), the probe endpoints, memory over the unit's processes, disk and memory."""
    try:
        with open(a.config_path, encoding="utf-8") as fh:
            b.save("openclaw.json", fh.read())
    except OSError as exc:
        b.save("openclaw.json.missing", str(exc))
    probes = {p: probe(a.port, p) for p in ("/healthz", "/readyz", "/startupz")}
    b.save("probes.json", json.dumps({p: {"status": s, "body": body} for p, (s, body) in probes.items()}, indent=2))
    facts["live"] = probes["/healthz"][0] == 200 and (probes["/healthz"][1] or {}).get("ok") is True
    ready_body = probes["/readyz"][1] or {}
    facts["ready"] = probes["/readyz"][0] == 200 and ready_body.get("ready") is True
    facts["failing"] = [str(x) for x in ready_body.get("failing", [])] if isinstance(ready_body, dict) else []
    facts["channels_down"] = [x for x in facts["failing"] if "channel" in x]
    if control_group is not None:  # compose measured its container's processes already
        facts["memory_bytes"] = unit_usage(control_group)["memory_bytes"]
    b.save("disk.txt", run(["df", "-hP", a.state_dir or "/", "/tmp", "/var/log"])[1])
    _rc, dfp = run(["df", "-P", a.state_dir or "/"])
    pct = re.search(r"(\d+)%", dfp.splitlines()[-1]) if dfp.strip() else None
    facts["disk_used_pct"] = int(pct.group(1)) if pct else 0
    b.save("memory.txt", run(["free", "-m"])[1] + "\n" + run(["ps", "-eo", "pid,rss,etime,args", "--sort=-rss"])[1][:8000])


SERVICE = {"systemd": systemd_service, "launchd": launchd_service}


def main():
    a = parse_args()
    b = Bundle(a.host)
    # a compose gateway's owner is the container's uid (no account on the host; its CLI runs inside the container)
    home = pwd.getpwnam(a.owner).pw_dir if a.owner and a.manager != "compose" else "/root"
    env = dict(gateway_env(a.node_bin_dir, a.config_path, a.state_dir, home), NO_COLOR="1", LANG="C.UTF-8")
    env.setdefault("PATH", SYSTEM_PATH)
    facts = {"port": a.port, "active_state": "unknown", "exit_status": "", "restarts": 0, "main_pid": 0}
    control_group = SERVICE.get(a.manager, compose_service)(a, b, facts)
    gateway_view(a, b, facts, env)
    probes_and_resources(a, b, facts, control_group)

    cls, category, action, reasons = classify(facts, a.memory_warn_mb * 1048576, a.disk_warn_pct)
    summary = {"host": a.host, "generated": b.stamp, "class": cls, "category": category, "action": action,
               "reasons": reasons, "facts": facts}
    b.save("summary.json", json.dumps(summary, indent=2, sort_keys=True))
    archive, leaked = b.pack(a.dest, read_secrets(a.token_file))
    print(json.dumps({"bundle": archive, "leaked": leaked, "class": cls, "category": category,
                      "action": action, "reasons": reasons}))
    return 1 if leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
