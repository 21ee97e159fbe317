"""Driving a gateway's service through a version or state change, with an automatic way back (stdlib only; target side).

Shared by openclaw_upgrade (upgrade, rollback) and openclaw_token (the authenticated probe). The readiness poller
measures downtime the way an operator's monitoring would see it: /readyz polled at 10 Hz for the whole change.
"""

import grp
import json
import os
import pwd
import shlex
import threading

from ansible.module_utils.openclaw_host import (
    GATEWAY_PORT,
    ReadinessWindow,
    container_show,
    gate,
    parse_show,
    poll_readiness,
    systemctl_argv,
)
from ansible.module_utils.openclaw_probe import fetch_json, wait_for
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import Request


class ReadinessPoller(threading.Thread):
    """Polls /readyz every `interval` seconds in the background; `finish()` returns the time /readyz did not answer
    ready (the host library's ReadinessWindow, as the tests' poller on a host measures it)."""

    def __init__(self, module, port, host="127.0.0.1", interval=0.1):
        super().__init__(daemon=True)
        self.m, self.url, self.interval = module, f"http://{host}:{port}/readyz", interval
        self.window = ReadinessWindow()
        self._stop_event = threading.Event()

    def ready(self):
        res = fetch_json(self.m, self.url, 0.5)
        return bool(res["json"] and res["json"].get("ready") is True)

    @property
    def probes(self):
        return self.window.probes

    @property
    def failed_probes(self):
        return self.window.failed

    def run(self):
        poll_readiness(self.ready, self._stop_event.is_set, self.window, self.interval, wait=self._stop_event.wait)

    def finish(self):
        self._stop_event.set()
        self.join(5)
        return round(self.window.finish().downtime, 2)


def token_accepted(port, token, host="127.0.0.1", timeout=5.0):
    """Authenticated probe: POST /tools/invoke for a tool that does not exist. The gateway checks the bearer token
    first: 401 = rejected; any other JSON answer (404 not_found) = accepted. Nothing is run. Returns True/False, or
    raises RuntimeError when the gateway cannot be asked at all."""
    url = f"http://{host}:{port}/tools/invoke"
    body = json.dumps({"tool": "openclaw_ops_auth_probe", "args": {}})
    try:
        Request(use_proxy=False, follow_redirects="none").open(
            "POST", url, data=body, timeout=timeout,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        return True
    except HTTPError as exc:
        if exc.code == 401:
            return False
        if exc.code in (403, 404, 400):
            return True
        raise RuntimeError(f"authenticated probe got HTTP {exc.code}") from None
    except (URLError, OSError) as exc:
        raise RuntimeError(f"authenticated probe failed: {getattr(exc, 'reason', exc)}") from None


def parse_unit_environment(text):
    """`systemctl show --property=Environment --value` -> dict: space-separated NAME=value words, a value with spaces
    is quoted."""
    pairs = (item.split("=", 1) for item in shlex.split(text.strip()) if "=" in item)
    return dict(pairs)


# the gateway's exit status when it refuses to start (bad config, state from a newer version): sysexits EX_CONFIG
REFUSED_STARTUP = "78"
# restarts of a container during one wait for readiness that mean a crash loop (a start takes ~5-15 s)
CRASH_LOOP_RESTARTS = 2


class _Supervised:
    """What runs the gateway (a systemd unit, a container): its commands and the shared readiness gate, which fails
    fast when gave_up() says why waiting is pointless."""

    m = port = None

    def command(self, argv, label, check=True):
        rc, out, err = self.m.run_command(argv)
        if check and rc != 0:
            raise RuntimeError(f"{label} failed: {(err or out).strip()}")
        return rc, out

    def gave_up(self):
        return None

    def gate(self, timeout, expect_version=None):
        """Wait for /readyz (and /startupz's version); fail fast when what runs the gateway gives up. Raises
        RuntimeError with the reason."""
        return gate(lambda left: wait_for(self.m, "127.0.0.1", self.port, 2.0, min(2.0, max(left, 0.1)), 0.2,
                                          expect_version=expect_version), timeout, self.gave_up)


class Service(_Supervised):
    """The gateway's systemd unit (system scope, or a lingering user's manager)."""

    def __init__(self, module, unit, scope="system", user=None, port=GATEWAY_PORT):
        self.m, self.unit, self.scope, self.user, self.port = module, unit, scope, user, port
        self.ctl = systemctl_argv(scope, user)

    def systemctl(self, *args, check=True):
        return self.command(self.ctl + list(args), f"systemctl {' '.join(args)}", check)

    def stop(self, check=True):
        return self.systemctl("stop", self.unit, check=check)

    def start(self):
        return self.systemctl("start", self.unit)

    def show(self):
        _rc, out = self.systemctl("show", self.unit, "--property=ActiveState,SubState,Result,ExecMainStatus,MainPID",
                                  check=False)
        return parse_show(out)

    def environment(self):
        """The unit's Environment= as a dict (systemd prints it with specifiers expanded, shell-quoted)."""
        _rc, out = self.systemctl("show", self.unit, "--property=Environment", "--value", check=False)
        return parse_unit_environment(out)

    def journal_tail(self, lines=8):
        argv = ["journalctl", "--no-pager", "-o", "cat", "-n", str(lines)]
        argv += ["-u", self.unit] if self.scope == "system" else systemctl_argv(self.scope, self.user)[1:] + ["-u", self.unit]
        rc, out, _err = self.m.run_command(argv)
        return out.strip().splitlines()[-lines:] if rc == 0 else []

    def gave_up(self):
        """Why waiting for readiness is pointless (the unit failed or stopped with an error: e.g. exit 78, the gateway
        refused its state), or None."""
        st = self.show()
        if st.get("ActiveState") == "failed" or (st.get("ActiveState") == "inactive" and st.get("Result") not in
                                                 (None, "", "success")):
            tail = " | ".join(self.journal_tail(4))
            return (f"{self.unit} failed (result {st.get('Result')}, exit status {st.get('ExecMainStatus')})"
                    f"{': ' + tail if tail else ''}")
        return None


class ContainerService(_Supervised):
    """A compose gateway's container, with Service's stop, start and readiness gate: the engine stops and starts the
    container the compose project created (its restart policy and configuration stay as compose wrote them)."""

    def __init__(self, module, engine, container, port=GATEWAY_PORT):
        self.m, self.engine, self.container, self.port = module, engine or "podman", container, port
        self.restarts_at_start = None  # RestartCount when gave_up() is first asked

    def run(self, *args, check=True):
        return self.command([self.engine, *args], f"{self.engine} {' '.join(args)}", check)

    def stop(self, check=True):
        return self.run("stop", self.container, check=check)

    def start(self):
        self.restarts_at_start = None  # a new wait for readiness counts restarts from here
        return self.run("start", self.container)

    def gave_up(self):
        """Why waiting for readiness is pointless, or None: the container exited with an error and is not being
        restarted, or it is caught exited 78 (the gateway refused its config or state), or it restarted
        CRASH_LOOP_RESTARTS times since the wait began (a restart policy repeating a refusal: a running container
        shows no exit code, and its exited moments are too short to catch reliably)."""
        c = container_show(self.engine, self.container, runner=self.m.run_command)
        if not c:
            return None
        status, code, restarts = c["status"], c["exit_code"], c["restarts"]
        if self.restarts_at_start is None:
            self.restarts_at_start = restarts
        looping = restarts - self.restarts_at_start >= CRASH_LOOP_RESTARTS
        stopped = status != "running" and (code == REFUSED_STARTUP or (
            status in ("exited", "dead") and code != "0" and not c["restarting"]))
        if not (looping or stopped):
            return None
        _rc, logs = self.run("logs", "--tail", "4", self.container, check=False)
        tail = " | ".join(line for line in logs.strip().splitlines()[-4:])
        why = (f"{self.container} restarted {restarts - self.restarts_at_start} times without becoming ready"
               if looping else f"{self.container} exited with status {code}")
        return why + (f": {tail}" if tail else "")


def gateway_service(module, p):
    """The container of a compose gateway (p["container"] set), else its systemd unit."""
    if p.get("container"):
        return ContainerService(module, p.get("engine"), p["container"], p["port"])
    return Service(module, p["unit"], p["scope"], p["user"], p["port"])


def account_id(name, lookup):
    """A uid or gid from a name, or from a number as a string (a container's user has no entry on the host)."""
    return int(name) if str(name).isdigit() else lookup(name)


def chown_tree(path, owner, group):
    """Owner/group on everything, 0700 directories and 0600 files: the state holds credentials."""
    uid = account_id(owner, lambda n: pwd.getpwnam(n).pw_uid)
    gid = account_id(group, lambda n: grp.getgrnam(n).gr_gid)
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chown(dirpath, uid, gid)
        os.chmod(dirpath, 0o700)
        for name in filenames:
            f = os.path.join(dirpath, name)
            os.chown(f, uid, gid, follow_symlinks=False)
            if not os.path.islink(f):
                os.chmod(f, 0o600)
