"""The alert rules rendered from the role's defaults pass `promtool check rules`, and the
promtool unit tests show each alert firing and not firing."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("rules")
    rules = out / "openclaw.rules.yml"
    res = subprocess.run(
        [str(ROOT / ".venv/bin/ansible-playbook"), str(ROOT / "playbooks/alerts.yml"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={ROOT / '.venv/bin/python'}", "-e", "openclaw_alerts_target=localhost",
         "-e", f"openclaw_alerts_rules_path={rules}"],
        cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    shutil.copy(ROOT / "tests/promtool/openclaw-alerts.test.yml", out / "openclaw-alerts.test.yml")
    return out


def test_promtool_check_rules(rendered):
    res = subprocess.run(["promtool", "check", "rules", "openclaw.rules.yml"], cwd=rendered, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS: 23 rules found" in res.stdout


def test_promtool_unit_tests(rendered):
    res = subprocess.run(["promtool", "test", "rules", "openclaw-alerts.test.yml"], cwd=rendered, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_alert_names_cover_the_handbook_and_the_issue(rendered):
    text = (rendered / "openclaw.rules.yml").read_text()
    for name in ("OpenClawDown", "OpenClawHighMemory", "OpenClawChannelDisconnected", "OpenClawNotReady",
                 "OpenClawRestartLoop", "OpenClawBackupStale", "OpenClawVersionDrift", "OpenClawTokenRotationOverdue"):
        assert f"alert: {name}" in text
