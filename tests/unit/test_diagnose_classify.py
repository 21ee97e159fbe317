"""The diagnose playbook's decision tree (playbooks/files/openclaw-diagnose.py classify()) on collected facts: one case
per branch of the handbook's P0-P3 tree. The collection itself runs against real hosts in the integration tests."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# on the host diagnose.yml ships module_utils/openclaw_redact.py beside the script; here it is imported from the checkout
sys.path.insert(0, str(ROOT / "module_utils"))
SPEC = importlib.util.spec_from_file_location("openclaw_diagnose", ROOT / "playbooks" / "files" / "openclaw-diagnose.py")
diagnose = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(diagnose)

HEALTHY = dict(live=True, ready=True, channels_down=[], failing=[], active_state="active", exit_status="0",
               config_valid=True, port_owner="openclaw-gateway", port=18789, memory_bytes=800 << 20, restarts=0,
               disk_used_pct=40, lint_findings=[])
GB = 1536 << 20


@pytest.mark.parametrize("change, expected", [
    ({}, ("P3", "healthy")),
    ({"lint_findings": ["gateway.auth.rateLimit"]}, ("P3", "advisory")),
    ({"memory_bytes": 2048 << 20}, ("P2", "degradation: resources")),
    ({"restarts": 3}, ("P2", "degradation: resources")),
    ({"disk_used_pct": 95}, ("P2", "degradation: resources")),
    ({"ready": False, "failing": ["channels"]}, ("P1", "functional failure: channels")),
    ({"channels_down": ["telegram"]}, ("P1", "functional failure: channels")),
    ({"live": False, "config_valid": False}, ("P0", "start failure: configuration")),
    ({"live": False, "port_owner": "nginx: master process"}, ("P0", "start failure: port in use")),
    ({"live": False, "port_owner": "", "exit_status": "78", "active_state": "failed"},
     ("P0", "start failure: refused startup (exit 78)")),
    ({"live": False, "port_owner": "", "active_state": "inactive"}, ("P0", "service down")),
    ({"live": False, "port_owner": "", "active_state": "activating"}, ("P0", "start failure")),
])
def test_decision_tree(change, expected):
    cls, category, action, reasons = diagnose.classify(dict(HEALTHY, **change), GB, 90)
    assert (cls, category) == expected
    assert action and reasons


def test_the_worst_class_wins():
    """Down and over the memory limit at once is P0, not P2: impact first, as in the handbook."""
    facts = dict(HEALTHY, live=False, port_owner="", active_state="failed", memory_bytes=4096 << 20, restarts=9)
    assert diagnose.classify(facts, GB, 90)[0] == "P0"


def test_every_file_of_the_bundle_is_masked(tmp_path):
    """redact_dir with the rules logs.yml shares: a JSON file as a whole, every other file line by line."""
    token = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978"
    (tmp_path / "openclaw.json").write_text(json.dumps({"gateway": {"auth": {"token": "inline-token-value"}}, "note": token}))
    (tmp_path / "gateway-log.txt").write_text(f'{{"0":"boot","1":{{"apiKey":"provider-key-1"}}}}\nplain {token}\n')
    (tmp_path / "broken.json").write_text(f"{{not json {token}")
    diagnose.redact_dir(str(tmp_path), [token])
    text = "".join(p.read_text() for p in tmp_path.iterdir())
    assert token not in text and "inline-token-value" not in text and "provider-key-1" not in text
    assert text.count("***REDACTED***") == 5
