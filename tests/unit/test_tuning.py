"""Tuning variables of the openclaw_gateway role (handbook 性能调优): rendered into openclaw.json by Ansible from
the role's real defaults, vars and template, then checked by the REAL gateway's `openclaw config validate`
(controller-side install from tests/real_gateway.py). Bad values are refused by the role's argument spec or by
the gateway's own validation; unset knobs leave the rendered config byte-identical to the one before tuning."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from real_gateway import node_bin, openclaw_cli

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "openclaw_gateway"
TOKEN = "tuning-test-token-0123456789abcdef0123456789"

TUNED = {
    "openclaw_gateway_queue_mode": "collect",
    "openclaw_gateway_queue_cap": 20,
    "openclaw_gateway_queue_drop": "summarize",
    "openclaw_gateway_inbound_debounce_ms": 1000,
    "openclaw_gateway_sandbox_cpus": 2,
    "openclaw_gateway_sandbox_memory": "2g",
    "openclaw_gateway_sandbox_pids_limit": 256,
    "openclaw_gateway_sandbox_network": "none",
    "openclaw_gateway_log_level": "warn",
    "openclaw_gateway_console_log_level": "error",
    "openclaw_gateway_console_log_style": "json",
}


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_FORCE_COLOR="0")


def play(tmp, tasks, vars_files):
    pb = tmp / "play.yml"
    pb.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                   "vars": {"ansible_python_interpreter": sys.executable},
                                   "vars_files": [str(f) for f in vars_files], "tasks": tasks}]))
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(pb)],
                          cwd=ROOT, env=ansible_env(),
                          capture_output=True, text=True, timeout=300)


def render(tmp, cases, vars_file=ROLE / "vars" / "main.yml"):
    """openclaw.json per case, from the role's template, defaults and the given vars file."""
    secret_dir = tmp / "secret"
    secret_dir.mkdir(exist_ok=True)
    (secret_dir / "gateway.token").write_text(TOKEN)
    (secret_dir / "gateway.token").chmod(0o600)
    tasks = [{"name": f"render {name}", "ansible.builtin.template": {"src": str(ROLE / "templates" / "openclaw.json.j2"),
                                                                       "dest": str(tmp / f"{name}.json")},
              "vars": {**case, "openclaw_gateway_token": TOKEN, "openclaw_gateway_secret_dir": str(secret_dir),
                       "openclaw_gateway_log_dir": str(tmp)}} for name, case in cases.items()]
    res = play(tmp, tasks, [ROOT / "roles" / "openclaw_nodejs" / "defaults" / "main.yml", ROLE / "defaults" / "main.yml",
                            vars_file])
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return {name: (tmp / f"{name}.json").read_text() for name in cases}


def validate(path):
    """The real gateway's offline schema validation of a config file: (rc, parsed --json output)."""
    home = path.parent / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, PATH=f"{node_bin()}:/usr/local/bin:/usr/bin:/bin", HOME=str(home),
               OPENCLAW_STATE_DIR=str(path.parent / "nonexistent"), OPENCLAW_CONFIG_PATH=str(path))
    res = subprocess.run([str(openclaw_cli()), "config", "validate", "--json"], env=env, capture_output=True, text=True,
                         timeout=120)
    out = res.stdout[res.stdout.find("{"):] if "{" in res.stdout else "{}"
    return res.returncode, json.loads(out), res.stdout + res.stderr


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tuning")
    cases = {"default": {}, "default_no_rpc": {"openclaw_gateway_admin_rpc_enabled": False}, "tuned": TUNED,
             "zero_cap": {"openclaw_gateway_queue_cap": 0},
             "zero_debounce": {"openclaw_gateway_inbound_debounce_ms": 0}}
    return tmp, render(tmp, cases)


def test_tuned_config_has_the_real_schema_keys(rendered):
    _tmp, out = rendered
    cfg = json.loads(out["tuned"])
    assert cfg["messages"] == {"queue": {"mode": "collect", "cap": 20, "drop": "summarize"}, "inbound": {"debounceMs": 1000}}
    docker = cfg["agents"]["defaults"]["sandbox"]["docker"]
    assert docker == {"cpus": 2.0, "memory": "2g", "pidsLimit": 256, "network": "none"}
    assert isinstance(cfg["messages"]["queue"]["cap"], int) and isinstance(docker["cpus"], float)
    assert cfg["logging"]["level"] == "warn" and cfg["logging"]["consoleLevel"] == "error"
    assert cfg["logging"]["consoleStyle"] == "json"
    assert cfg["gateway"]["auth"]["token"] == {"source": "file", "provider": "gatewaytoken", "id": "value"}


def test_tuned_config_passes_the_real_gateway_validation(rendered):
    tmp, _out = rendered
    rc, result, raw = validate(tmp / "tuned.json")
    assert rc == 0 and result.get("valid") is True, raw


def test_zero_debounce_is_kept_and_valid(rendered):
    tmp, out = rendered
    assert json.loads(out["zero_debounce"])["messages"] == {"inbound": {"debounceMs": 0}}
    rc, result, raw = validate(tmp / "zero_debounce.json")
    assert rc == 0 and result.get("valid") is True, raw


def test_a_value_the_spec_allows_but_the_gateway_refuses(rendered):
    """cap=0 is an int (the spec's type) but the schema wants > 0: `config validate` refuses it, so the
    role's validated template task would never install it."""
    tmp, out = rendered
    assert json.loads(out["zero_cap"])["messages"]["queue"]["cap"] == 0
    rc, result, raw = validate(tmp / "zero_cap.json")
    assert rc == 1 and result.get("valid") is False, raw
    assert "messages.queue.cap" in raw


def test_default_config_is_unchanged_by_the_tuning_block(rendered):
    """With every knob unset the file equals the one rendered by the vars file before tuning existed
    (the commit before the block was added), so existing hosts see no change (idempotence)."""
    tmp, out = rendered
    cfg = json.loads(out["default"])
    assert "messages" not in cfg and "agents" not in cfg and "consoleStyle" not in cfg["logging"]
    # the one default addition since: the admin-http-rpc plugin for the fast deep health check
    assert cfg["plugins"] == {"entries": {"admin-http-rpc": {"enabled": True}}}
    assert json.loads(out["default_no_rpc"]) == {k: v for k, v in cfg.items() if k != "plugins"}
    path = "roles/openclaw_gateway/vars/main.yml"
    added = subprocess.run(["git", "log", "--format=%H", "--reverse", "-S_openclaw_gateway_tuning_config", "--", path],
                           cwd=ROOT, capture_output=True, text=True).stdout.split()
    rev = f"{added[0]}^" if added else "HEAD"  # the commit before the block was added
    old = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, text=True)
    if old.returncode != 0 or "_openclaw_gateway_tuning_config" in old.stdout:
        pytest.skip("no vars/main.yml without the tuning block in this checkout's history")
    (tmp / "old_vars.yml").write_text(old.stdout)
    before = render(tmp, {"default_before": {}}, vars_file=tmp / "old_vars.yml")["default_before"]
    assert out["default_no_rpc"] == before


@pytest.mark.parametrize("name,value", [
    ("openclaw_gateway_queue_mode", "sequential"),  # the handbook's mode, absent from the real schema
    ("openclaw_gateway_queue_drop", "oldest"),
    ("openclaw_gateway_console_log_style", "xml"),
    ("openclaw_gateway_queue_cap", "many"),
    ("openclaw_gateway_sandbox_cpus", "two"),
])
def test_bad_values_are_refused_by_the_argument_spec(tmp_path, name, value):
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    tuning = {k: v for k, v in spec.items() if k in TUNED}
    task = {"ansible.builtin.validate_argument_spec": {"argument_spec": tuning, "provided_arguments": {name: value}}}
    res = play(tmp_path, [task], [])
    assert res.returncode != 0, res.stdout[-2000:]
    assert name in res.stdout, res.stdout[-2000:]


def test_good_values_pass_the_argument_spec(tmp_path):
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    tuning = {k: v for k, v in spec.items() if k in TUNED}
    task = {"ansible.builtin.validate_argument_spec": {"argument_spec": tuning, "provided_arguments": TUNED}}
    res = play(tmp_path, [task], [])
    assert res.returncode == 0, res.stdout[-2000:]
