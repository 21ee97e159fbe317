"""systemd_verify_cmd: the `validate:` command for rendered units, run here with the real systemd-analyze."""

import shlex
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from openclaw_filters import systemd_verify_cmd

UNIT = "[Unit]\nDescription=t\n[Service]\nExecStart=/bin/true\n{}\n"


def validate(tmp_path, body, name="openclaw-gateway.service"):
    candidate = tmp_path / "tmpXYZ"  # what Ansible validates: a temp file without the unit's name
    candidate.write_text(UNIT.format(body))
    return subprocess.run(shlex.split(systemd_verify_cmd(name) % candidate), capture_output=True, text=True)


def test_a_good_unit_passes(tmp_path):
    res = validate(tmp_path, "MemoryMax=2G\nCPUQuota=150%")
    assert res.returncode == 0, res.stderr


@pytest.mark.parametrize("body,message", [
    ("MemoryMax=lots", "Invalid memory limit 'lots'"),
    ("CPUQuota=150", "CPU quota"),
    ("TimeoutStopSec=-5", "Failed to parse time value"),
    ("Bogus=1", "Unknown key 'Bogus'"),
])
def test_a_bad_value_fails_with_the_validators_own_message(tmp_path, body, message):
    res = validate(tmp_path, body)
    assert res.returncode == 1 and "systemd-analyze verify openclaw-gateway.service:" in res.stderr
    assert message in res.stderr, res.stderr


def test_a_bad_unit_name_is_refused():
    for bad in ("../x.service", "a b.service", "gateway", 3):
        with pytest.raises(AnsibleFilterError):
            systemd_verify_cmd(bad)


def test_secret_ref_and_refs_round_trip():
    from openclaw_filters import openclaw_secret_ref, openclaw_secret_refs
    ref = openclaw_secret_ref("anthropic_api_key")
    assert ref == {"source": "file", "provider": "openclawops", "id": "/anthropic_api_key"}
    cfg = {"models": {"providers": {"anthropic": {"apiKey": ref}}},
           "channels": {"telegram": {"accounts": [{"botToken": openclaw_secret_ref("tg.bot-1")}]}},
           "gateway": {"auth": {"token": {"source": "file", "provider": "gatewaytoken", "id": "value"}}}}
    assert openclaw_secret_refs(cfg) == ["anthropic_api_key", "tg.bot-1"]
    for bad in ("a/b", "..", "a b", "", "x" * 65, None):
        with pytest.raises(AnsibleFilterError):
            openclaw_secret_ref(bad)
