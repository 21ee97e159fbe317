"""openclaw_health against the real gateway process (npm package) on loopback."""

import json

import openclaw_health
import pytest
from ansible.module_utils.openclaw_probe import fetch_json
from real_gateway import OPENCLAW_VERSION, RealGateway, free_port, node_bin


@pytest.fixture(scope="module")
def gateway():
    with RealGateway() as gw:
        yield gw


def args(gw, **extra):
    return dict(port=gw.port, unit="", **extra)


def test_healthy_real_gateway(run_module, gateway):
    kind, res = run_module(openclaw_health.main, args(gateway, expect_version=OPENCLAW_VERSION))
    assert kind == "exit", res
    assert res["healthy"] and res["live"] and res["ready"] and res["started"]
    assert res["version"] == OPENCLAW_VERSION and res["uptime_ms"] > 0


def test_deep_check_reads_channels_with_the_token_from_the_secret_file(run_module, gateway):
    kind, res = run_module(openclaw_health.main, args(
        gateway, deep=True, cli=gateway.cli, node_bin_dir=str(node_bin()), config_path=str(gateway.config),
        state_dir=str(gateway.state), deep_timeout=20))
    assert kind == "exit", res
    assert res["channels_configured"] == 0 and res["channels_connected"] == 0
    assert res["sessions"] >= 0 and res["agents"] >= 1


def test_deep_check_with_a_bad_token_fails_clearly(run_module, gateway, tmp_path):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("w" * 48)
    cfg = json.loads(gateway.config.read_text())
    cfg["secrets"]["providers"]["gatewaytoken"]["path"] = str(wrong)
    bad_config = tmp_path / "openclaw.json"
    bad_config.write_text(json.dumps(cfg))
    kind, res = run_module(openclaw_health.main, args(
        gateway, deep=True, cli=gateway.cli, node_bin_dir=str(node_bin()), config_path=str(bad_config),
        state_dir=str(gateway.state), deep_timeout=10))
    assert kind == "fail"
    assert "deep check `openclaw health --json` failed" in res["msg"]
    assert "w" * 48 not in json.dumps(res)


def deep_args(gw, **extra):
    return args(gw, deep=True, cli=gw.cli, node_bin_dir=str(node_bin()), config_path=str(gw.config),
                state_dir=str(gw.state), deep_timeout=20, **extra)


def test_deep_check_falls_back_to_the_cli_when_the_rpc_route_is_off(run_module, gateway):
    """The plugin is off on this gateway: the route is not registered, so the CLI answers."""
    kind, res = run_module(openclaw_health.main, deep_args(gateway, token_file=str(gateway.token_file)))
    assert kind == "exit", res
    assert res["deep_source"] == "cli" and res["channels_configured"] == 0 and res["agents"] >= 1


@pytest.fixture(scope="module")
def rpc_gateway():
    with RealGateway(admin_rpc=True) as gw:
        yield gw


def test_deep_check_asks_the_running_gateway_over_the_admin_rpc(run_module, rpc_gateway):
    """With the plugin on (the role's default) the gateway's own health method answers: same counts as the CLI."""
    kind, rpc = run_module(openclaw_health.main, deep_args(rpc_gateway, token_file=str(rpc_gateway.token_file)))
    assert kind == "exit", rpc
    assert rpc["deep_source"] == "rpc" and rpc["healthy"]
    kind, cli = run_module(openclaw_health.main, deep_args(rpc_gateway))
    assert kind == "exit" and cli["deep_source"] == "cli", cli
    keys = ("channels_configured", "channels_connected", "channels_disconnected", "sessions", "agents")
    assert {k: rpc[k] for k in keys} == {k: cli[k] for k in keys}


def test_deep_check_over_rpc_with_a_wrong_token_fails_clearly(run_module, rpc_gateway, tmp_path):
    wrong = tmp_path / "wrong.token"
    wrong.write_text("x" * 48)
    kind, res = run_module(openclaw_health.main, deep_args(rpc_gateway, token_file=str(wrong)))
    assert kind == "fail" and "deep check (health RPC) failed: the gateway rejected the token" in res["msg"], res
    assert "x" * 48 not in json.dumps(res)


def test_unknown_path_on_the_real_gateway_is_html_200_and_not_healthy(gateway, monkeypatch):
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {"_ansible_remote_tmp": "/tmp"}})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)  # ansible-core 2.19+: the arguments' profile
    module = basic.AnsibleModule(argument_spec={})
    res = fetch_json(module, f"http://127.0.0.1:{gateway.port}/metrics", 5)
    assert res["status"] == 200 and res["json"] is None
    assert "answered HTML with status 200" in res["error"]


def test_wrong_expected_version_on_the_real_gateway(run_module, gateway):
    kind, res = run_module(openclaw_health.main, args(gateway, expect_version="2026.9.5"))
    assert kind == "fail" and f"version {OPENCLAW_VERSION} running, 2026.9.5 expected" in res["msg"]


def test_stopped_gateway_is_connection_refused(run_module):
    kind, res = run_module(openclaw_health.main, {"port": free_port(), "unit": ""})
    assert kind == "fail" and "connection refused" in res["msg"]
