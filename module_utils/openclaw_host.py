"""The host library: what runs on a gateway host, written once (Python standard library only, no Ansible import).

The modules use it through openclaw_service, openclaw_probe and openclaw_gateway_control (which add Ansible's
run_command and HTTP client); the scripts that run on a host without Ansible import it from a copy shipped beside
them: the metrics collector (openclaw_monitoring), the scheduled backup (inside the runtime bundle of
openclaw_backup), the checklists (check.yml) and the support bundle (diagnose.yml).

- service control for both scopes: `systemctl_argv`, `show_argv`, `parse_show`, `unit_show`;
- cgroup and process accounting: `cgroup_pids`, `process_stats`, `unit_usage`;
- the probe endpoints: `http_json`, `evaluate`, `probe_endpoints`; channels of a health payload: `summarize_channels`;
- readiness: `gate` (wait until ready, stop early when the service gave up), `ReadinessWindow` and `poll_readiness`
  (downtime as monitoring sees it);
- the gateway CLI as the service owner with its environment: `as_owner`, `gateway_env`, `run`, `run_gateway_cli`;
- backup retention: `prune_list`, `prune_archives`.
"""

import glob
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request

CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")
PROBE_PATHS = ("/healthz", "/readyz", "/startupz")
# the gateway's port unless configured otherwise (upstream's default; the one place this project writes it)
GATEWAY_PORT = 18789
# what the gateway's node binary directory is put in front of, for the CLI run by hand or by a script
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


# --- service control (systemd, both scopes) -------------------------------------------------------------------------
def systemctl_argv(scope="system", user=None):
    """`systemctl`, or for the user scope the login user's manager driven from root (`--user --machine=USER@`,
    systemd >= 248: no `su`, no XDG_RUNTIME_DIR)."""
    argv = ["systemctl"]
    if scope == "user":
        argv += ["--user", f"--machine={user}@"]
    return argv


def show_argv(unit, properties, scope="system", user=None):
    """`systemctl show` of `unit`, only the named properties."""
    return systemctl_argv(scope, user) + ["show", unit, "--property=" + ",".join(properties)]


def parse_show(text):
    """`systemctl show` output (NAME=value lines) as a dict."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def unit_show(unit, properties, scope="system", user=None, runner=None):
    """`systemctl show` of the unit as a dict ({} when systemctl fails). `runner(argv)` returns (rc, stdout, ...):
    AnsibleModule.run_command in a module, `run` (below) in a script."""
    res = (runner or run)(show_argv(unit, properties, scope, user))
    return parse_show(res[1]) if res[0] == 0 else {}


# --- a compose gateway's container ----------------------------------------------------------------------------------
def container_show(engine, container, runner=None):
    """pid, status, restarts, last exit code and whether the engine is restarting it, from `<engine> container
    inspect` ({} when the engine or the container is missing). `runner` as for unit_show."""
    res = (runner or run)([engine, "container", "inspect", container])
    data = parse_json(res[1]) if res[0] == 0 else None
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        return {}
    state = data.get("State") or {}
    return dict(pid=int(state.get("Pid") or 0), status=str(state.get("Status") or "unknown"),
                restarts=int(data.get("RestartCount") or 0), exit_code=str(state.get("ExitCode", "")),
                restarting=bool(state.get("Restarting")))


def container_exec_argv(engine, container, argv):
    """`argv` run inside the container, as its user, with its environment (the gateway's config and state)."""
    return [engine, "exec", container, *argv]


def process_tree(root_pid, proc="/proc"):
    """`root_pid` and all its descendants, from the parent PIDs in /proc/*/stat ([] when root_pid is 0)."""
    if not root_pid:
        return []
    children = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [int(root_pid)]
    while todo:
        pid = todo.pop()
        if pid in tree:
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(tree)


# --- cgroup and process accounting ----------------------------------------------------------------------------------
def cgroup_pids(control_group):
    """PIDs in the unit's cgroup (v2 unified, or the v1 `systemd` hierarchy); [] without a cgroup."""
    if not control_group:
        return []
    for root in CGROUP_ROOTS:
        path = os.path.join(root, control_group.lstrip("/"))
        pids = set()
        for dirpath, _dirs, files in os.walk(path):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as fh:
                        pids.update(int(x) for x in fh.read().split())
                except (OSError, ValueError):
                    continue
        if pids:
            return sorted(pids)
    return []


def process_stats(pids, proc="/proc"):
    """Sum resident memory (bytes) and CPU time (seconds) over `pids`; vanished PIDs are skipped.

    The gateway runs a main process, a spawn broker and a sqlite worker (~0.8 GB together): memory and CPU count all
    of them, not only MainPID."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    rss = 0
    cpu = 0.0
    seen = 0
    for pid in pids:
        try:
            with open(f"{proc}/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) * 1024
                        break
            with open(f"{proc}/{pid}/stat") as fh:
                # fields after the command name (which may contain spaces) start at ')'
                rest = fh.read().rsplit(")", 1)[1].split()
                cpu += (int(rest[11]) + int(rest[12])) / ticks
            seen += 1
        except (OSError, IndexError, ValueError):
            continue
    return dict(processes=seen, memory_bytes=rss, cpu_seconds=round(cpu, 2))


def unit_usage(control_group, proc="/proc"):
    """process_stats over every process in the unit's cgroup."""
    return process_stats(cgroup_pids(control_group), proc)


# --- probe endpoints ------------------------------------------------------------------------------------------------
def parse_json(text):
    """The JSON document `text` holds, or None."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect is an answer of its own, as HTTPError
        return None


# loopback probes: no proxy from the environment, no redirects
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def http_json(url, timeout=3.0, method="GET", data=None, headers=None):
    """`method` `url` (with a `data` body): (status, JSON object or None, error phrase or None); errors are returned,
    not raised. The gateway answers unknown paths with the Control UI's HTML and status 200, so only a JSON object
    counts; its 503 while not ready carries JSON."""
    status, body = -1, b""
    try:
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        with _OPENER.open(req, timeout=timeout) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        try:
            body = exc.read()
        except Exception:  # pylint: disable=broad-except  # the status alone is the answer
            body = b""
    except (OSError, ValueError) as exc:  # URLError and socket timeouts are OSErrors
        reason = getattr(exc, "reason", exc)
        msg = str(reason)
        if "timed out" in msg.lower() or isinstance(reason, TimeoutError):
            return -1, None, f"timed out after {timeout:g} s"
        if "refused" in msg.lower():
            return -1, None, "connection refused"
        return -1, None, msg
    parsed = parse_json(body.decode("utf-8", "replace")) if body else None
    if not isinstance(parsed, dict):
        kind = "HTML" if body.lstrip()[:1] == b"<" else "non-JSON"
        return status, None, f"answered {kind} with status {status}, not the gateway's JSON"
    return status, parsed, None


def evaluate(raw, errors, status):
    """Turn parsed endpoint answers into the health summary (pure)."""
    healthz = raw.get("/healthz") or {}
    readyz = raw.get("/readyz") or {}
    startupz = raw.get("/startupz") or {}
    failing = readyz.get("failing") if isinstance(readyz.get("failing"), list) else []
    return dict(
        live=healthz.get("ok") is True and healthz.get("status") == "live",
        ready=readyz.get("ready") is True and status.get("/readyz") == 200,
        started=startupz.get("ok") is True and startupz.get("status") == "started",
        version=startupz.get("version"),
        uptime_ms=startupz.get("uptimeMs", readyz.get("uptimeMs")),
        failing=[str(f) for f in failing],
        errors=dict(errors),
        status=dict(status),
        raw=dict(raw),
    )


def probe_endpoints(fetch, base):
    """Ask /healthz, /readyz and /startupz once and evaluate them. `fetch(url)` returns (status, JSON object or None,
    error or None). A refused or timed-out connection is not asked twice: the other endpoints get the same error."""
    raw, errors, status = {}, {}, {}
    for path in PROBE_PATHS:
        status[path], raw[path], err = fetch(base + path)
        if err:
            errors[path] = err
            if err == "connection refused" or err.startswith("timed out"):
                for rest in PROBE_PATHS:
                    errors.setdefault(rest, err)
                    status.setdefault(rest, status[path])
                    raw.setdefault(rest, None)
                break
    return evaluate(raw, errors, status)


def summarize_channels(health):
    """Count channels configured/connected in a `health` payload (`openclaw health --json` or the health RPC).

    A channel counts as connected when its record says so (`connected: true`), its probe succeeded (`probe.ok`), or
    its health state is healthy; configured when `configured` is true (records without the key count as configured,
    since the gateway lists them)."""
    channels = health.get("channels") if isinstance(health, dict) else None
    if not isinstance(channels, dict):
        return dict(configured=0, connected=0, disconnected=[])
    configured, connected, disconnected = 0, 0, []
    for name, rec in channels.items():
        rec = rec if isinstance(rec, dict) else {}
        if rec.get("configured", True) is False:
            continue
        configured += 1
        probe = rec.get("probe") if isinstance(rec.get("probe"), dict) else {}
        state = str(rec.get("healthState", "")).lower()
        if rec.get("connected") is True or probe.get("ok") is True or state in ("healthy", "connected", "ok"):
            connected += 1
        else:
            disconnected.append(name)
    return dict(configured=configured, connected=connected, disconnected=sorted(disconnected))


# --- readiness ------------------------------------------------------------------------------------------------------
def gate(attempt, timeout, gave_up=None, clock=time):
    """Wait until the gateway is ready: `attempt(seconds_left)` probes for a short while and returns a summary whose
    `problems` list is empty when ready; between attempts `gave_up()` returns why waiting is pointless (the unit
    failed, the process exited) or None. Returns the ready summary; raises RuntimeError with the reason, or with the
    last problems once `timeout` seconds have passed."""
    deadline = clock.monotonic() + timeout
    while True:
        summary = attempt(deadline - clock.monotonic())
        if not summary["problems"]:
            return summary
        reason = gave_up() if gave_up else None
        if reason:
            raise RuntimeError(reason)
        if clock.monotonic() >= deadline:
            raise RuntimeError(f"not ready within {timeout} s: " + "; ".join(summary["problems"]))


class ReadinessWindow:
    """Readiness probes as monitoring sees them: how many, how many failed, the total time not ready, and the longest
    window not ready (from the first failed probe to the next ready one) with its wall-clock start and end."""

    def __init__(self, clock=time):
        self.clock = clock
        self.probes = self.failed = 0
        self.downtime = self.longest = 0.0
        self.span = (None, None)
        self._down_since = self._down_wall = None

    def _wall(self, t):
        return self.clock.time() - (self.clock.monotonic() - t)

    def _close(self, t, end_wall):
        length = t - self._down_since
        self.downtime += length
        if length > self.longest:
            self.longest, self.span = length, (self._down_wall, end_wall)
        self._down_since = None

    def record(self, ready, t=None):
        """One probe's answer, taken at monotonic time `t` (now when None)."""
        t = self.clock.monotonic() if t is None else t
        self.probes += 1
        if not ready:
            self.failed += 1
            if self._down_since is None:
                self._down_since, self._down_wall = t, self._wall(t)
        elif self._down_since is not None:
            self._close(t, self._wall(t))

    def finish(self):
        """Close a window still open (the gateway is still not ready: no end time)."""
        if self._down_since is not None:
            self._close(self.clock.monotonic(), None)
        return self

    def report(self):
        return dict(probes=self.probes, failed=self.failed, window=round(self.longest, 2), window_start=self.span[0],
                    window_end=self.span[1], downtime=round(self.downtime, 2))


def poll_readiness(is_ready, stopped, window=None, interval=0.1, wait=None, clock=time):
    """Call `is_ready()` every `interval` seconds until `stopped()`, recording each answer in `window`."""
    window = window or ReadinessWindow(clock)
    wait = wait or clock.sleep
    while not stopped():
        t = clock.monotonic()
        window.record(bool(is_ready()), t)
        wait(max(0.0, interval - (clock.monotonic() - t)))
    return window.finish()


def readyz_ok(port, host="127.0.0.1", timeout=1.0):
    """True when /readyz answers ready (one probe, stdlib HTTP)."""
    status, data, _err = http_json(f"http://{host}:{port}/readyz", timeout)
    return bool(data and data.get("ready") is True and status == 200)


# --- the gateway CLI as the service owner ---------------------------------------------------------------------------
def as_owner(argv, owner, runuser=None):
    """`argv` run as `owner` (unchanged for root or no owner): through runuser (util-linux; a module passes the path it
    found), else `sudo -n` (macOS has no runuser). Files the CLI touches in the state directory stay the owner's."""
    if not owner or owner == "root":
        return list(argv)
    runuser = runuser or shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if runuser:
        return [runuser, "-u", owner, "--", *argv]
    return [shutil.which("sudo") or "/usr/bin/sudo", "-n", "-u", owner, "--", *argv]


def gateway_env(node_bin_dir="", config_path="", state_dir="", home=""):
    """The variables the gateway CLI needs to find its runtime and the gateway's config and state (only those given):
    an environment update for run_command, or to lay over os.environ."""
    env = {}
    if node_bin_dir:
        env["PATH"] = f"{node_bin_dir}:{SYSTEM_PATH}"
    for name, value in (("OPENCLAW_CONFIG_PATH", config_path), ("OPENCLAW_STATE_DIR", state_dir), ("HOME", home)):
        if value:
            env[name] = value
    return env


def run(argv, timeout=60, env=None, cwd="/"):
    """(rc, stdout, stderr) of argv, never raising: 127 when the program is missing, 124 on timeout (with what it
    printed until then)."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False)
        return res.returncode, res.stdout, res.stderr
    except FileNotFoundError as exc:
        return 127, "", str(exc)
    except OSError as exc:
        return 126, "", str(exc)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return 124, out, f"(timed out after {timeout} s)"


def run_gateway_cli(cli, args, owner=None, env=None, timeout=90):
    """`openclaw <args>` as the service owner with the gateway's environment `env` (laid over os.environ):
    (rc, stdout, stderr)."""
    return run(as_owner([cli, *args], owner), timeout=timeout, env=dict(os.environ, **(env or {})))


# --- backup retention -----------------------------------------------------------------------------------------------
def prune_list(files, keep_days, now):
    """Paths of archives past retention: older than `keep_days` days at epoch `now`, except the newest one, which is
    kept however old (a schedule that broke a week ago must not have its last good archive pruned).
    `files`: dicts with path and mtime (ansible.builtin.find's `files`)."""
    limit = float(now) - float(keep_days) * 86400
    ordered = sorted(files, key=lambda f: f["mtime"])
    return [f["path"] for f in ordered[:-1] if f["mtime"] < limit]


def prune_archives(dest_dir, name, keep_days, now):
    """Delete the archives of backup set `name` in `dest_dir` that are past retention; their file names."""
    paths = glob.glob(os.path.join(dest_dir, f"openclaw-{name}-*.tar.gz"))
    paths += glob.glob(os.path.join(dest_dir, f"openclaw-{name}-*.tar.gz.age"))
    removed = []
    for path in prune_list([dict(path=p, mtime=os.path.getmtime(p)) for p in paths], keep_days, now):
        os.unlink(path)
        removed.append(os.path.basename(path))
    return removed
