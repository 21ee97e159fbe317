"""Shared probe code for the openclaw modules (runs on the target: stdlib + Ansible module_utils only).

The gateway's probe endpoints answer JSON, but any unknown path returns the Control UI's
HTML with status 200, so a probe must parse JSON and never trust the status code alone.
"""

import json
import time

from ansible.module_utils.openclaw_host import (
    PROBE_PATHS,
    evaluate,
    http_json,
    probe_endpoints,
    summarize_channels,
)
from ansible.module_utils.openclaw_service import owner_argv
from ansible.module_utils.openclaw_spec import GATEWAY_PORT

# evaluate and summarize_channels live in the host library; modules and tests import them from here too
__all__ = ["evaluate", "fetch_json", "probe_gateway", "problems", "wait_for", "summarize_channels", "deep_health",
           "deep_health_fast", "rpc_health", "tail_file", "probe_argument_spec"]


def probe_argument_spec():
    """Options every probing module shares."""
    return dict(
        host=dict(type="str", default="127.0.0.1"),
        port=dict(type="int", default=GATEWAY_PORT),
        timeout=dict(type="float", default=5.0),
    )


def fetch_json(module, url, timeout, method="GET", data=None, headers=None):
    """GET (or `method` with a `data` body) `url`; return a dict with status, json (or None), and error (one clear
    phrase or None).

    `module` is accepted for symmetry with fetch_url-style helpers; errors are returned, not raised.
    """
    status, parsed, error = http_json(url, timeout, method=method, data=data, headers=headers)
    return dict(status=status, json=parsed, error=error)


def probe_gateway(module, host, port, timeout):
    """Probe the three endpoints once and evaluate them.

    Returns a dict: live, ready, started, version, uptime_ms, failing (list), errors (dict path->phrase),
    status (dict path->HTTP status), and raw JSON per path.
    """
    return probe_endpoints(lambda url: http_json(url, timeout), f"http://{host}:{port}")


def problems(summary, expect_version=None):
    """List what is wrong with a health summary, in words; empty when healthy."""
    out = []
    errs = summary["errors"]
    if errs:
        seen = []
        for path in PROBE_PATHS:
            err = errs.get(path)
            if err and err not in seen:
                seen.append(err)
                out.append(f"{path} {err}")
    else:
        if not summary["live"]:
            out.append("/healthz does not report live")
        if not summary["ready"]:
            failing = ", ".join(summary["failing"]) or "no detail"
            out.append(f"/readyz not ready (failing: {failing})")
        if not summary["started"]:
            out.append("/startupz does not report started")
    if expect_version and summary.get("version") and summary["version"] != expect_version:
        out.append(f"version {summary['version']} running, {expect_version} expected")
    return out


def wait_for(module, host, port, timeout, wait_timeout, interval, expect_version=None, clock=time, gave_up=None):
    """Probe until healthy (and the expected version) or until `wait_timeout` seconds pass; stop early when
    `gave_up()` says why waiting is pointless (the unit failed, the container exited 78), adding its reason."""
    start = clock.monotonic()
    attempts = 0
    while True:
        attempts += 1
        summary = probe_gateway(module, host, port, timeout)
        issues = problems(summary, expect_version)
        elapsed = clock.monotonic() - start
        reason = gave_up() if issues and gave_up and elapsed < wait_timeout else None
        if reason:
            issues.insert(0, reason)
        if not issues or reason or elapsed >= wait_timeout:
            summary.update(attempts=attempts, elapsed=round(elapsed, 2), problems=issues)
            return summary
        clock.sleep(min(interval, max(0.0, wait_timeout - elapsed)))


def tail_file(path, lines=20, max_bytes=65536):
    """Last `lines` lines of a text file, or [] when unreadable (used only for failure context)."""
    if not path:
        return []
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read().decode("utf-8", "replace")
    except OSError:
        return []
    return data.splitlines()[-lines:]


ADMIN_RPC_PATH = "/api/v1/admin/rpc"


def rpc_health(module, host, port, token, timeout):
    """The gateway's own `health` method through the bundled admin-http-rpc plugin (POST /api/v1/admin/rpc, bearer
    token, loopback): the same payload as `openclaw health --json`, answered in milliseconds by the running gateway
    instead of a Node.js CLI start (about 4 s). Returns (payload or None, error or None, route_missing)."""
    res = fetch_json(module, f"http://{host}:{port}{ADMIN_RPC_PATH}", timeout, method="POST",
                     data=json.dumps({"method": "health", "params": {}}).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    body = res["json"] or {}
    if res["status"] == 404 or (res["status"] == 200 and res["json"] is None):
        # plugin disabled: the route is not registered (unknown paths answer 404 or the Control UI's HTML)
        return None, "the admin-http-rpc route is not registered", True
    if res["status"] == 401:
        return None, "the gateway rejected the token in the token file (401)", False
    if res["error"] and res["json"] is None:
        return None, res["error"], False
    payload = body.get("payload")
    if body.get("ok") is not True or not isinstance(payload, dict) or payload.get("ok") is not True:
        err = body.get("error") if isinstance(body.get("error"), dict) else {}
        return None, err.get("message") or err.get("code") or f"health RPC answered status {res['status']}", False
    return payload, None, False


def summarize_health(data):
    """Channels, sessions and agents of a `health` payload (RPC or CLI: the same shape)."""
    channels = summarize_channels(data)
    sessions = data.get("sessions") if isinstance(data.get("sessions"), dict) else {}
    agents = data.get("agents") if isinstance(data.get("agents"), list) else []
    return dict(
        channels_configured=channels["configured"],
        channels_connected=channels["connected"],
        channels_disconnected=channels["disconnected"],
        sessions=int(sessions.get("count", 0) or 0),
        agents=len(agents),
    )


def deep_health_fast(module, cli, env, run_as=None, timeout_ms=10000, port=None, token_file=None, host="127.0.0.1",
                     cli_argv=None):
    """Deep check through the gateway's health RPC when it answers, else through the CLI (`cli_argv`, when given,
    runs it elsewhere: a compose gateway's inside its container). Returns (summary or None, error or None); the
    summary says which path answered (`deep_source`)."""
    if port and token_file:
        try:
            with open(token_file) as fh:
                token = fh.read().strip()
        except OSError:
            token = None  # unreadable here: the CLI below reads it through the config's SecretRef
        if token:
            payload, rpc_error, route_missing = rpc_health(module, host, port, token, timeout_ms / 1000.0)
            if payload is not None:
                return dict(summarize_health(payload), deep_source="rpc"), None
            if not route_missing:
                return None, f"deep check (health RPC) failed: {rpc_error}"
    summary, error = deep_health(module, cli, env, run_as=run_as, timeout_ms=timeout_ms, cli_argv=cli_argv)
    if summary is not None:
        summary["deep_source"] = "cli"
    return summary, error


def deep_health(module, cli, env, run_as=None, timeout_ms=10000, cli_argv=None):
    """Authenticated deep check through the installed CLI (`openclaw health --json`).

    The CLI reads the token through the config's file SecretRef; running it as the service
    owner keeps any file it touches owned correctly. `cli_argv` replaces `[cli]` run as the owner (a compose
    gateway's CLI inside its container). Returns (summary or None, error or None).
    """
    args = ["health", "--json", "--timeout", str(int(timeout_ms))]
    argv = list(cli_argv) + args if cli_argv else owner_argv(module, [cli, *args], run_as)
    rc, out, err = module.run_command(argv, environ_update=env)
    try:
        data = json.loads(out) if out.strip() else None
    except ValueError:
        data = None
    if rc != 0 or not isinstance(data, dict) or data.get("ok") is not True:
        detail = ""
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            detail = data["error"].get("message") or data["error"].get("type") or ""
        lines = (err or out).strip().splitlines()
        detail = detail or (lines[-1] if lines else f"rc={rc}")
        return None, f"deep check `openclaw health --json` failed: {detail}"
    return summarize_health(data), None
