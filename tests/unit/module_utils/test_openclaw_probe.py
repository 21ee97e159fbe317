import json

from ansible.module_utils.openclaw_probe import deep_health, evaluate, problems, summarize_channels


class FakeModule:
    """Stands in for AnsibleModule.run_command only (unit test of one function)."""

    def __init__(self, rc, out, err=""):
        self.result = (rc, out, err)
        self.calls = []

    def run_command(self, argv, environ_update=None):
        self.calls.append((argv, environ_update))
        return self.result

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return f"/usr/sbin/{name}"


def test_deep_check_bad_token_is_a_clear_failure():
    out = json.dumps({"ok": False, "error": {"type": "gateway_credentials_required",
                                             "message": "unauthorized: gateway token mismatch (AUTH_TOKEN_MISMATCH)"}})
    summary, error = deep_health(FakeModule(1, out), "/opt/openclaw/current/node_modules/.bin/openclaw", {}, run_as="openclaw")
    assert summary is None
    assert error == "deep check `openclaw health --json` failed: unauthorized: gateway token mismatch (AUTH_TOKEN_MISMATCH)"


def test_deep_check_runs_as_the_service_owner_with_a_timeout():
    mod = FakeModule(0, json.dumps({"ok": True, "channels": {}, "sessions": {"count": 3}, "agents": [{}]}))
    summary, error = deep_health(mod, "/cli", {"OPENCLAW_STATE_DIR": "/s"}, run_as="openclaw", timeout_ms=7000)
    assert error is None and summary["sessions"] == 3 and summary["agents"] == 1
    argv, env = mod.calls[0]
    assert argv[:4] == ["/usr/sbin/runuser", "-u", "openclaw", "--"] and argv[-2:] == ["--timeout", "7000"]
    assert env == {"OPENCLAW_STATE_DIR": "/s"}


def test_a_compose_gateways_deep_check_runs_its_cli_inside_the_container():
    mod = FakeModule(0, json.dumps({"ok": True, "channels": {}, "sessions": {"count": 0}, "agents": [{}]}))
    summary, error = deep_health(mod, "/no/host/cli", {}, run_as="1000",
                                 cli_argv=["podman", "exec", "openclaw-gateway", "openclaw"])
    assert error is None and summary["sessions"] == 0
    assert mod.calls[0][0][:5] == ["podman", "exec", "openclaw-gateway", "openclaw", "health"]  # no runuser, no host CLI


def test_channels_connected_and_disconnected():
    health = {"channels": {"telegram": {"configured": True, "probe": {"ok": True}},
                           "whatsapp": {"configured": True, "connected": False, "healthState": "disconnected"},
                           "slack": {"configured": False}}}
    assert summarize_channels(health) == {"configured": 2, "connected": 1, "disconnected": ["whatsapp"]}


def test_starting_gateway_is_not_ready():
    s = evaluate({"/healthz": {"ok": True, "status": "live"}, "/readyz": {"ready": False, "failing": ["startup-sidecars"]},
                  "/startupz": {"ok": True, "status": "started", "version": "2026.9.6"}}, {},
                 {"/healthz": 200, "/readyz": 503, "/startupz": 200})
    assert s["live"] and not s["ready"]
    assert problems(s) == ["/readyz not ready (failing: startup-sidecars)"]


def test_waiting_for_readiness_stops_when_the_supervisor_gives_up(monkeypatch):
    from ansible.module_utils import openclaw_probe

    class Clock:
        now = 0.0

        def monotonic(self):
            return self.now

        def sleep(self, s):
            self.now += s

    down = dict(live=False, ready=False, started=False, failing=[], version=None, errors={"/healthz": "refused"})
    calls = []
    monkeypatch.setattr(openclaw_probe, "probe_gateway", lambda *a: dict(down, errors=dict(down["errors"])))
    summary = openclaw_probe.wait_for(None, "127.0.0.1", 1, 1, wait_timeout=120, interval=1, clock=Clock(),
                                      gave_up=lambda: calls.append(1) or (None if len(calls) < 3 else "gw exited 78"))
    assert summary["problems"][0] == "gw exited 78" and summary["attempts"] == 3 and summary["elapsed"] == 2
