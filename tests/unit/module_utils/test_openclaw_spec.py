"""The gateway context as one module option (module_utils/openclaw_spec.py): what the task gives wins, then the
context's field, then the documented default; required options and required_if are checked after the filling."""

import openclaw_health
import openclaw_logs
from ansible.module_utils.openclaw_spec import apply_context, spec, with_context
from fake_gateway import HEALTHY, FakeGateway

CONTEXT = {"cli": "/opt/openclaw/current/node_modules/.bin/openclaw", "node_bin_dir": "/opt/openclaw/node/v24.21.0/bin",
           "state_dir": "/var/lib/openclaw/.openclaw", "config_path": "/var/lib/openclaw/.openclaw/openclaw.json",
           "token_file": "/etc/openclaw/gateway.token", "log_file": "/var/log/openclaw/openclaw.log",
           "log_dir": "/var/log/openclaw", "owner": "openclaw", "group": "openclaw",
           "unit": "openclaw-gateway.service", "scope": "system", "user": "", "port": 18790, "version": "2026.9.6",
           "manager": "systemd", "engine": "", "container": ""}


def filled(params, *options, required_if=()):
    argument_spec = spec("service", "port", "cli", "state_dir", "owner", run_as=dict(type="str"),
                         engine=dict(type="str", default="podman"))
    deferred = with_context(argument_spec, options)
    assert "gateway" in argument_spec and all("default" not in argument_spec[o] for o in options)
    params = dict({o: None for o in options}, **params)
    return apply_context(params, deferred, required_if), params


def test_the_context_fills_what_the_task_did_not_give():
    error, p = filled({"gateway": CONTEXT}, "port", "unit", "scope", "cli", "state_dir", "owner", "run_as")
    assert error is None
    assert p["port"] == 18790 and p["unit"] == "openclaw-gateway.service" and p["scope"] == "system"
    assert p["state_dir"] == CONTEXT["state_dir"] and p["owner"] == "openclaw" and p["run_as"] == "openclaw"


def test_what_the_task_gives_wins_over_the_context():
    error, p = filled({"gateway": CONTEXT, "port": 18799, "owner": "alice"}, "port", "owner", "group")
    assert error is None and p["port"] == 18799 and p["owner"] == "alice" and p["group"] == "openclaw"


def test_empty_context_fields_fall_back_to_the_default():
    # the system scope's context has user '' and engine '': not values, so the defaults apply
    error, p = filled({"gateway": CONTEXT}, "user", "engine")
    assert error is None and p["user"] is None and p["engine"] == "podman"
    error, p = filled({}, "port", "unit", "scope")
    assert error is None and p["port"] == 18789 and p["unit"] == "openclaw-gateway.service" and p["scope"] == "system"


def test_a_compose_context_has_no_unit():
    compose = dict(CONTEXT, manager="compose", engine="podman", container="openclaw-gateway")
    error, p = filled({"gateway": compose}, "unit", "engine")
    assert error is None and p["unit"] == "" and p["engine"] == "podman"


def test_required_options_are_checked_after_the_context():
    error, _ = filled({}, "state_dir", "owner")
    assert error.startswith("missing required arguments: owner") and "gateway=openclaw_gateway_paths" in error
    error, _ = filled({"gateway": dict(CONTEXT, scope="user")}, "scope", "user", required_if=[("scope", "user", ["user"])])
    assert error.startswith("scope is user but all of the following are missing: user")
    error, _ = filled({"gateway": dict(CONTEXT, scope="user", user="alice")}, "scope", "user",
                      required_if=[("scope", "user", ["user"])])
    assert error is None


def test_health_probes_the_context_port(run_module):
    with FakeGateway(HEALTHY) as gw:
        kind, res = run_module(openclaw_health.main, {"gateway": dict(CONTEXT, port=gw.port, unit="", log_file=None)})
    assert kind == "exit" and res["healthy"], res


def test_a_module_fails_clearly_without_its_required_context(run_module):
    kind, res = run_module(openclaw_logs.main, {"lines": 5})
    assert kind == "fail" and res["msg"].startswith("missing required arguments: path"), res


def test_logs_read_the_context_log_file(run_module, tmp_path):
    log = tmp_path / "openclaw.log"
    log.write_text('{"time":"2026-11-30T00:00:00Z","level":"info","msg":"ready"}\n')
    kind, res = run_module(openclaw_logs.main, {"gateway": dict(CONTEXT, log_file=str(log), token_file=None)})
    assert kind == "exit" and len(res["lines"]) == 1, res
