"""The scheduled-backup role's launchd job (macOS cannot run here): rendered from the role's own variables through
Ansible's templating and the to_plist filter, parsed back with plistlib, checked for the keys and types launchd needs.
And the runner's retention, which runs on the host without Ansible."""

import importlib.util
import os
import plistlib
import sys
import time
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "openclaw_backup"


def trusted(value):
    """Strings as Ansible's loader marks the role files it reads: ansible-core 2.19+ renders only trusted templates
    (`trust_as_template`); older versions have no such mark and render every string."""
    try:
        from ansible.template import trust_as_template
    except ImportError:
        return value
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trusted(v) for v in value]
    return value


def rendered_plist(**overrides):
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    variables.update(role_path=str(ROLE), playbook_dir=str(ROOT / "playbooks"), **overrides)
    templar = Templar(loader=DataLoader(), variables=trusted(variables))
    text = templar.template(trusted("{{ _openclaw_backup_launchd_plist }}"))
    return text, plistlib.loads(text.encode())


def test_launchd_job_has_the_keys_and_types_launchd_needs():
    text, job = rendered_plist()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert job["Label"] == "ai.openclaw.backup"
    assert job["ProgramArguments"] == ["/usr/bin/python3", "/usr/local/lib/openclaw-ops/openclaw-scheduled-backup.py",
                                       "/etc/openclaw-ops/backup.json"]
    assert job["StartCalendarInterval"] == {"Hour": 3, "Minute": 30}
    assert all(type(v) is int for v in job["StartCalendarInterval"].values())
    assert job["RunAtLoad"] is False and isinstance(job["Nice"], int)


def test_launchd_schedule_follows_the_variables():
    _text, job = rendered_plist(openclaw_backup_schedule_hour=1, openclaw_backup_schedule_minute=5)
    assert job["StartCalendarInterval"] == {"Hour": 1, "Minute": 5}


def load_runner():
    # on the host the runner imports the host library from its runtime bundle; here from the checkout
    if str(ROOT / "module_utils") not in sys.path:
        sys.path.append(str(ROOT / "module_utils"))
    spec = importlib.util.spec_from_file_location("runner", ROLE / "files" / "openclaw-scheduled-backup.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_runner_retention_keeps_the_newest_and_the_young(tmp_path):
    runner = load_runner()
    now = time.time()
    ages = {"openclaw-config-h-1.tar.gz": 40, "openclaw-config-h-2.tar.gz.age": 35, "openclaw-config-h-3.tar.gz": 31,
            "openclaw-backup-h-1.tar.gz": 100}
    for name, days in ages.items():
        p = tmp_path / name
        p.write_text("x")
        os.utime(p, (now - days * 86400, now - days * 86400))
    assert sorted(runner.prune(str(tmp_path), "config", 30, now)) == ["openclaw-config-h-1.tar.gz",
                                                                      "openclaw-config-h-2.tar.gz.age"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openclaw-backup-h-1.tar.gz", "openclaw-config-h-3.tar.gz"]
