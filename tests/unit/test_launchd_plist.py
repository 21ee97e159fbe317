"""launchd plist of the openclaw_gateway role, rendered by Ansible from the role's real defaults and vars.

macOS (and launchd) cannot run on these machines, so this checks what launchd would read: the file parses
with plistlib, every key is one launchd knows with the type it expects, the token never appears, and the
output matches the golden files (UPDATE_GOLDEN=1 rewrites them after a deliberate change)."""

import json
import os
import plistlib
from pathlib import Path

import pytest
from role_render import render_templates

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "openclaw_gateway"
GOLDEN = Path(__file__).parent / "golden"
TOKEN = "golden-test-token-0123456789abcdef0123456789"

# launchd.plist(5) keys this role may write, with the Python type plistlib returns for each.
LAUNCHD_KEYS = {
    "Label": str, "ProgramArguments": list, "EnvironmentVariables": dict, "WorkingDirectory": str,
    "UserName": str, "GroupName": str, "RunAtLoad": bool, "KeepAlive": dict, "ThrottleInterval": int,
    "ExitTimeOut": int, "ProcessType": str, "Umask": int, "StandardOutPath": str, "StandardErrorPath": str,
}

CASES = {
    # per-user LaunchAgent, like upstream's ai.openclaw.gateway
    "agent": {
        "openclaw_gateway_service_scope": "user",
        "openclaw_gateway_login_user": "alice",
        "__openclaw_gateway_login_pw": {"ansible_facts": {"getent_passwd": {
            "alice": ["x", "501", "20", "Alice", "/Users/alice", "/bin/zsh"]}}},
        "openclaw_gateway_log_dir": "/Users/alice/Library/Logs/openclaw",
        "openclaw_gateway_ca_bundle": "/etc/ssl/cert.pem",
    },
    # LaunchDaemon under a service account; no extra CA bundle
    "daemon": {
        "openclaw_gateway_service_scope": "system",
        "openclaw_gateway_system_home": "/usr/local/var/openclaw",
        "openclaw_gateway_ca_bundle": "",
    },
    # XML-special characters in a path must be escaped, not break the file (not a golden file)
    "escaping": {
        "openclaw_gateway_service_scope": "system",
        "openclaw_gateway_state_dir": "/srv/Open & Claw <state>/.openclaw",
    },
}


def render(tmp, template, cases):
    """Render roles/openclaw_gateway/templates/<template> once per case with the role's defaults and vars."""
    out = render_templates(tmp, {f"{name}.out": (template, {**case, "openclaw_gateway_token": TOKEN})
                                 for name, case in cases.items()})
    return {name: out[f"{name}.out"].read_text() for name in cases}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("launchd"), "ai.openclaw.gateway.plist.j2", CASES)


@pytest.mark.parametrize("case", ["agent", "daemon"])
def test_matches_golden_file(rendered, case):
    golden = GOLDEN / f"ai.openclaw.gateway.{case}.plist"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered[case])
    assert rendered[case] == golden.read_text(), f"{golden.name} differs; rerun with UPDATE_GOLDEN=1 if intended"


@pytest.mark.parametrize("case", list(CASES))
def test_keys_and_types_launchd_needs(rendered, case):
    plist = plistlib.loads(rendered[case].encode())
    unknown = set(plist) - set(LAUNCHD_KEYS)
    assert not unknown, f"keys launchd does not know: {unknown}"
    for key, value in plist.items():
        assert type(value) is LAUNCHD_KEYS[key], f"{key}: {type(value).__name__}, launchd wants {LAUNCHD_KEYS[key].__name__}"
    assert plist["Label"] == "ai.openclaw.gateway"
    args = plist["ProgramArguments"]
    assert all(isinstance(a, str) for a in args) and args[1:] == ["gateway", "run"]
    assert args[0] == "/opt/openclaw/current/node_modules/.bin/openclaw"
    assert plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}, "restart on unsuccessful exit only"
    assert plist["ThrottleInterval"] == 10
    assert plist["ExitTimeOut"] == 30, "bounded like TimeoutStopSec (the gateway can drain for 325 s)"
    assert plist["Umask"] == 0o077
    for key in ("StandardOutPath", "StandardErrorPath", "WorkingDirectory"):
        assert plist[key].startswith("/"), key
    env = plist["EnvironmentVariables"]
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    assert env["OPENCLAW_CONFIG_PATH"] == env["OPENCLAW_STATE_DIR"] + "/openclaw.json"
    assert env["PATH"].startswith("/opt/openclaw/node/v24.21.0/bin:")


@pytest.mark.parametrize("case", list(CASES))
def test_no_token_inline(rendered, case):
    assert TOKEN not in rendered[case]
    env = plistlib.loads(rendered[case].encode())["EnvironmentVariables"]
    assert not [k for k in env if "TOKEN" in k.upper()], env


def test_agent_and_daemon_differ_where_launchd_needs(rendered):
    agent = plistlib.loads(rendered["agent"].encode())
    daemon = plistlib.loads(rendered["daemon"].encode())
    assert "UserName" not in agent, "a LaunchAgent runs as the user whose gui domain loads it"
    assert daemon["UserName"] == "openclaw" and daemon["GroupName"] == "openclaw"
    assert agent["EnvironmentVariables"]["OPENCLAW_STATE_DIR"] == "/Users/alice/.openclaw"
    assert agent["EnvironmentVariables"]["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/cert.pem"
    assert daemon["EnvironmentVariables"]["OPENCLAW_STATE_DIR"] == "/usr/local/var/openclaw/.openclaw"
    assert "NODE_EXTRA_CA_CERTS" not in daemon["EnvironmentVariables"]
    assert agent["StandardErrorPath"] == "/Users/alice/Library/Logs/openclaw/gateway.err.log"


def test_special_characters_are_escaped(rendered):
    plist = plistlib.loads(rendered["escaping"].encode())
    assert plist["WorkingDirectory"] == "/srv/Open & Claw <state>/.openclaw"
    assert json.dumps(plist["EnvironmentVariables"]["OPENCLAW_STATE_DIR"]) == '"/srv/Open & Claw <state>/.openclaw"'
