"""Tunables live in role defaults, never in play `vars:` (which outrank the inventory: a value set in group_vars would
be ignored). A play may only hold private helpers (`_name`) and the run's arguments mapped from -e (listed here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# what a run is asked to do, from `-e action=... channel=... apply=...`, not a setting of the fleet
RUN_ARGUMENTS = {"openclaw_service_action", "openclaw_channels_action", "openclaw_channels_channel",
                 "openclaw_channels_account", "openclaw_maintenance_apply", "openclaw_check_period"}


def role_defaults():
    names = {}
    for f in ROOT.glob("roles/*/defaults/main.yml"):
        for name in yaml.safe_load(f.read_text()) or {}:
            names[name] = f.parent.parent.name
    return names


def test_no_play_sets_a_tunable():
    defaults = role_defaults()
    offending = []
    for f in sorted([*ROOT.glob("*.yml"), *ROOT.glob("playbooks/*.yml")]):
        doc = yaml.safe_load(f.read_text())
        if not isinstance(doc, list):
            continue
        for play in doc:
            for name in (play.get("vars") or {}) if isinstance(play, dict) else {}:
                if name.startswith("_") or name in RUN_ARGUMENTS:
                    continue
                offending.append(f"{f.relative_to(ROOT)}: {name}" + (f" (a default of {defaults[name]})"
                                                                     if name in defaults else ""))
    assert offending == [], "play vars outrank the inventory; put tunables in a role's defaults:\n" + "\n".join(offending)


def test_every_common_tunable_is_documented_with_its_default():
    defaults = yaml.safe_load((ROOT / "roles/openclaw_common/defaults/main.yml").read_text())
    specs = yaml.safe_load((ROOT / "roles/openclaw_common/meta/argument_specs.yml").read_text())["argument_specs"]
    for entry in ("main", "tunables"):
        options = specs[entry]["options"]
        assert set(options) == set(defaults)
        assert {k: v["default"] for k, v in options.items()} == defaults
