"""Shared pytest setup: make the project's filters, module_utils and modules importable."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "filter_plugins"))
sys.path.insert(0, str(ROOT / "library"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

# Modules import `ansible.module_utils.openclaw_probe`; alias the project's copy there.
import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.append(str(ROOT / "module_utils"))


# Parallel runs (`make test` uses pytest-xdist with --dist loadgroup): the tests of one module share its module-scoped
# fixture (one podman host, one real gateway), so a module is one group that runs on one worker; the Molecule
# scenarios and the two service-ops scopes each have their own hosts and are groups of their own. The longest groups
# are handed out first (seconds measured on a clean-clone run, docs/testing.md; rounded up), so the long poles start
# at once and the short ones fill in around them.
PER_TEST_GROUPS = {"test_scenarios.py", "test_service_ops.py", "test_production_path.py"}
GROUP_SECONDS = {
    "test_upgrade": 690, "test_compose": 570, "test_scenarios[default]": 560, "test_production_path[nopasswd]": 560,
    "test_service_ops[system]": 490, "test_service_ops[user]": 480, "test_scenarios[user-scope]": 400,
    "test_production_path[password]": 360, "test_distribution": 280, "test_scenarios[hardened]": 280,
    "test_compose_rootless": 180, "test_oldest": 150, "test_cli": 110, "test_collection_sanity": 90,
    "test_alert_rules": 60, "test_preflight": 60, "test_backup": 60, "unit": 60,
}


def test_group(item):
    if item.path.name in PER_TEST_GROUPS:
        return f"{item.path.stem}[{item.callspec.id}]"
    if "unit" in item.path.parts:
        return "unit"
    return item.path.stem


# tryfirst: xdist's own hook turns the xdist_group mark into the scheduling group, so the mark must be set before it
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(test_group(item)))
    # stable sort: a group's tests keep their order
    items.sort(key=lambda item: -GROUP_SECONDS.get(test_group(item), 0))


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch):
    """Run an Ansible module's main() with `args`; return ('exit'|'fail', result dict)."""
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    def _exit(self, **kw):
        raise ExitJson(kw)

    def _fail(self, **kw):
        raise FailJson(kw)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail)

    def run(main, args, check_mode=False):
        payload = dict(args, _ansible_check_mode=check_mode, _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": payload})))
        # ansible-core 2.19+ decodes the arguments with a serialization profile (what its own
        # ansible.module_utils.testing.patch_module_args sets); older versions have no such attribute
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            main()
        except ExitJson as e:
            return "exit", e.args[0]
        except FailJson as e:
            return "fail", e.args[0]
        raise AssertionError("module returned without exit_json/fail_json")

    return run
