"""Bad input fails in preflight with a one-sentence message naming the variable, and the
host is left exactly as it was (compared file by file with `podman diff`)."""

import json

import pytest
from podman_host import PodmanHost, playbook

TOKEN = "integration-test-token-0123456789abcdef012345"

CASES = [
    ("unsupported-os", ["-e", json.dumps({"_openclaw_gateway_supported_os": {"Fedora": ["40"]}})], "",
     "Unsupported OS Debian 12"),
    ("ansible-too-old", ["-e", "_openclaw_gateway_min_ansible=99.0"], "",
     "openclaw-ops needs ansible-core >= 99.0"),
    ("invalid-port", ["-e", "openclaw_gateway_port=70000"], "",
     "openclaw_gateway_port must be an integer between 1 and 65535 (got 70000)"),
    ("non-numeric-port", ["-e", "openclaw_gateway_port=http"], "",
     "openclaw_gateway_port"),
    ("bind-without-opt-in", ["-e", "openclaw_gateway_bind=lan"], "",
     "openclaw_gateway_bind=lan would expose the gateway beyond loopback"),
    ("short-token", ["-e", "openclaw_gateway_token=tooshort"], "",
     "openclaw_gateway_token is missing or shorter than 32 characters"),
    ("missing-token", ["-e", json.dumps({"openclaw_gateway_token": None})], "",
     "openclaw_gateway_token is missing or shorter than 32 characters"),
    ("latest-without-opt-in", ["-e", "openclaw_gateway_version=latest"], "",
     "openclaw_gateway_version must be a pinned release"),
    ("not-enough-disk", ["-e", "openclaw_gateway_min_free_mb=999999999"], "",
     "Not enough free disk under /opt/openclaw"),
    ("legacy-state", [], "mkdir -p /root/.clawdbot && echo '{}' > /root/.clawdbot/clawdbot.json",
     "Legacy state found (/root/.clawdbot)"),
    ("foreign-unit", [], "printf '[Service]\\nExecStart=/bin/true\\n' > /etc/systemd/system/clawdbot-gateway.service",
     "A gateway unit not managed by openclaw-ops is installed (/etc/systemd/system/clawdbot-gateway.service)"),
    ("port-in-use", [], "(setsid python3 -m http.server 18789 --bind 127.0.0.1 >/dev/null 2>&1 &) ; sleep 1",
     "Port 18789 is already in use by another process"),
]


@pytest.fixture(scope="module")
def host():
    with PodmanHost("openclaw-preflight") as h:
        yield h


@pytest.mark.parametrize("case,args,setup,message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_fails_in_preflight_and_leaves_host_untouched(host, tmp_path, case, args, setup, message):
    if setup:
        host.run(setup)
    before = host.changes()
    res = playbook(host.inventory(tmp_path, openclaw_gateway_token=TOKEN), *args)
    out = res.stdout + res.stderr
    try:
        assert res.returncode != 0, out[-3000:]
        assert message in " ".join(out.split()), out[-3000:]
        assert host.changes() == before, "preflight changed the host"
        for path in ("/opt/openclaw", "/etc/openclaw", "/var/lib/openclaw", "/etc/systemd/system/openclaw-gateway.service"):
            assert host.run(f"test ! -e {path}", check=False).returncode == 0, f"{path} was created"
        assert host.run("getent passwd openclaw", check=False).returncode != 0, "service user was created"
    finally:
        host.run("rm -rf /root/.clawdbot /etc/systemd/system/clawdbot-gateway.service; pkill -f '[h]ttp.server 18789' || true")
