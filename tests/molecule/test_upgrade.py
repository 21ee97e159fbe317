"""Molecule `upgrade`: three real systemd hosts deployed on openclaw 2026.9.5 (real packages from the npm registry),
then the real failure tests of the upgrade and token issue, in one pass on the same hosts:

1. rolling upgrade to 2026.9.6 where the operator's verify command fails on the second host: the canary upgrades, the
   second host rolls back to 2026.9.5 with its pre-upgrade state, the rollout stops, the third host is untouched;
2. upgrade of the other two: changed, data preserved, state migrated; a second run changes nothing;
3. "upgrade" 2026.9.6 -> 2026.9.5: the older gateway refuses the migrated state (exit 78). With the rehearsal (the
   default) that is seen on a copy of the state and the upgrade stops before the switch (same gateway PID); with
   openclaw_upgrade_rehearse=false it is seen after the switch: automatic rollback, the
   host ends on 2026.9.6 with its state, ready;
4. operator rollback (rollback.yml) to 2026.9.5 with the pre-upgrade state;
5. token rotation: no failed readiness probe, old token rejected, new accepted, no token in -vvv output; a forced
   failure (the gateway does not read the file written) leaves the working token in place.
"""

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from molecule_config import scenario_inventory

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "upgrade"
HOSTS = ["openclaw-mol-up-1", "openclaw-mol-up-2", "openclaw-mol-up-3"]
STATE = "/var/lib/openclaw/.openclaw"
COMPILE_CACHE = "/var/cache/openclaw-gateway/node-compile-cache"
OLD, NEW = "2026.9.5", "2026.9.6"


@pytest.fixture(scope="module")
def env():
    e = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
             PY_COLORS="0", NO_COLOR="1")
    e["PATH"] = f"{ROOT / '.venv' / 'bin'}:{e['PATH']}"
    return e


@pytest.fixture(scope="module")
def logs():
    d = ROOT / ".cache" / "molecule-logs"
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def fleet(env, logs):
    """The converged scenario (destroy, create, converge on 2026.9.5, idempotence); destroyed at the end."""
    def molecule(*args, log):
        with open(logs / log, "w") as fh:
            return subprocess.run(["molecule", *args], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=2400).returncode
    try:
        molecule("destroy", "-s", SCENARIO, log="upgrade-destroy-before.log")  # `test --destroy never` skips it too
        rc = molecule("test", "-s", SCENARIO, "--destroy", "never", log="upgrade-test.log")
        text = (logs / "upgrade-test.log").read_text()
        assert rc == 0, f"molecule test -s upgrade failed:\n{text[-6000:]}"
        assert re.search(r"idempotence\W+Executed: Successful", text), text[-3000:]
        _, gvars, _ = scenario_inventory(SCENARIO)
        yield gvars
    finally:
        molecule("destroy", "-s", SCENARIO, log="upgrade-destroy.log")


def inventory(logs, gvars, name="upgrade-inventory.yml", host_vars=None):
    """The scenario's hosts, each over SSH as deploy (its published port), plus per-host extras."""
    conn = scenario_inventory(SCENARIO)[2]
    inv = logs / name
    inv.write_text(yaml.safe_dump({"openclaw": {"hosts": {h: dict(conn[h], **(host_vars or {}).get(h, {})) for h in HOSTS},
                                                "vars": gvars}}))
    return inv


def sh(host, env, script, check=True):
    return subprocess.run(["podman", "exec", host, "bash", "-c", script], env=env, capture_output=True, text=True,
                          check=check)


def play(env, *args, timeout=1800):
    res = subprocess.run(["ansible-playbook", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return res.returncode, res.stdout + res.stderr


def active_version(host, env):
    return sh(host, env, "readlink /opt/openclaw/current").stdout.strip().rsplit("/", 1)[-1]


def running_version(host, env):
    """What the live gateway reports on /startupz (not just the symlink)."""
    out = sh(host, env, "python3 -c \"import json,urllib.request;print(json.load(urllib.request.urlopen("
                        "'http://127.0.0.1:18789/startupz',timeout=5))['version'])\"", check=False)
    return out.stdout.strip()


def ready(host, env):
    out = sh(host, env, "python3 -c \"import json,urllib.request;print(json.load(urllib.request.urlopen("
                        "'http://127.0.0.1:18789/readyz',timeout=5))['ready'])\"", check=False)
    return out.stdout.strip() == "True"


def schema_version(host, env):
    return sh(host, env, f"python3 -c \"import sqlite3;print(sqlite3.connect('file:{STATE}/state/openclaw.sqlite?mode=ro',"
                         "uri=True).execute('PRAGMA user_version').fetchone()[0])\"").stdout.strip()


def marker(host, env):
    return sh(host, env, f"cat {STATE}/workspace/upgrade-marker.txt", check=False).stdout.strip()


def recap(text):
    return {h: (int(ok), int(ch), int(fail)) for h, ok, ch, fail in
            re.findall(r"(openclaw-mol-up-\d)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", text)}


def test_upgrade_rollback_and_token_rotation(fleet, env, logs):
    inv = inventory(logs, fleet)
    for h in HOSTS:
        assert active_version(h, env) == OLD and ready(h, env)
        sh(h, env, f"mkdir -p {STATE}/workspace && echo data-of-{h} > {STATE}/workspace/upgrade-marker.txt && "
                   f"chown -R openclaw:openclaw {STATE}/workspace")
    old_schema = schema_version(HOSTS[0], env)

    # 1. rolling upgrade, one host per batch; the verify command fails on the second host only
    failing = inventory(logs, fleet, "upgrade-inventory-failing.yml", {HOSTS[1]: {
        "openclaw_upgrade_verify_command": "echo 'channel check failed on purpose' >&2; exit 3"}})
    rc, out = play(env, "upgrade.yml", "-i", str(failing), "-e", f"openclaw_upgrade_version={NEW}",
                   "-e", '{"openclaw_upgrade_serial": 1}')
    (logs / "upgrade-1-rolling.log").write_text(out)
    flat = " ".join(out.split())
    assert rc != 0, out[-4000:]
    assert "verify command exited 3" in flat and "Rolled back: previous state put back, switched back to 2026.9.5, ready again" \
        in flat, out[-5000:]
    assert active_version(HOSTS[0], env) == NEW and running_version(HOSTS[0], env) == NEW
    assert active_version(HOSTS[1], env) == OLD and running_version(HOSTS[1], env) == OLD and ready(HOSTS[1], env)
    assert marker(HOSTS[1], env) == f"data-of-{HOSTS[1]}" and schema_version(HOSTS[1], env) == old_schema
    # the rollout stopped: the third host was never touched (not even the side-by-side install)
    assert HOSTS[2] not in recap(out), out[-3000:]
    assert active_version(HOSTS[2], env) == OLD
    assert sh(HOSTS[2], env, f"test -e /opt/openclaw/versions/{NEW}", check=False).returncode != 0

    # 2. the rest upgrade: changed, data kept, state migrated; a second run changes nothing. Only the newest pre-upgrade
    # archive is kept (the second host had one from its rolled-back attempt in step 1).
    rc, out = play(env, "upgrade.yml", "-i", str(inv), "-e", f"openclaw_upgrade_version={NEW}",
                   "-e", '{"openclaw_upgrade_keep_backups": 1}')
    (logs / "upgrade-2-rest.log").write_text(out)
    assert rc == 0, out[-5000:]
    archives = sh(HOSTS[1], env, "ls /var/backups/openclaw/openclaw-preupgrade-*").stdout.split()
    assert len(archives) == 1, archives
    r = recap(out)
    assert r[HOSTS[0]][1] == 0 and r[HOSTS[1]][1] >= 1 and r[HOSTS[2]][1] >= 1, r
    for h in HOSTS:
        assert running_version(h, env) == NEW and ready(h, env)
        assert marker(h, env) == f"data-of-{h}"
    new_schema = schema_version(HOSTS[2], env)
    assert int(new_schema) > int(old_schema), (old_schema, new_schema)
    rc, out = play(env, "upgrade.yml", "-i", str(inv), "-e", f"openclaw_upgrade_version={NEW}")
    assert rc == 0 and all(v[1] == 0 for v in recap(out).values()), out[-3000:]
    rc, out = play(env, "upgrade.yml", "-i", str(inv), "-e", f"openclaw_upgrade_version={NEW}", "--check")
    assert rc == 0 and all(v[1] == 0 for v in recap(out).values()), out[-3000:]

    # the upgrade rehearsed the new version before the switch: its compile cache is warm in the unit's cache directory
    assert sh(HOSTS[2], env, f"test -d {COMPILE_CACHE}/openclaw/{NEW} && test -d {COMPILE_CACHE}/openclaw/{OLD}",
              check=False).returncode == 0
    assert sh(HOSTS[2], env, f"ls -d {STATE}.rehearsal-* 2>/dev/null", check=False).stdout.strip() == ""

    # 3a. "upgrade" to the older release: the rehearsal on a copy of the state sees it refuse the migrated state
    # (exit 78) and the upgrade stops before the switch: the running gateway is not even restarted
    pid = sh(HOSTS[0], env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip()
    rc, out = play(env, "upgrade.yml", "-i", str(inv), "-l", HOSTS[0], "-e", f"openclaw_upgrade_version={OLD}")
    (logs / "upgrade-3a-refused.log").write_text(out)
    flat = " ".join(out.split())
    assert rc != 0 and "refused before the switch" in flat and "exit status 78" in flat, out[-5000:]
    assert sh(HOSTS[0], env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip() == pid
    assert active_version(HOSTS[0], env) == NEW and running_version(HOSTS[0], env) == NEW and ready(HOSTS[0], env)
    assert schema_version(HOSTS[0], env) == new_schema
    assert sh(HOSTS[0], env, f"ls -d {STATE}.rehearsal-* {STATE}.rollback-20* 2>/dev/null", check=False).stdout.strip() == ""

    # 3b. the same without the rehearsal: exit 78 after the switch -> automatic rollback to 2026.9.6 and its state
    rc, out = play(env, "upgrade.yml", "-i", str(inv), "-l", HOSTS[0], "-e", f"openclaw_upgrade_version={OLD}",
                   "-e", "openclaw_upgrade_rehearse=false")
    (logs / "upgrade-3b-downgrade.log").write_text(out)
    flat = " ".join(out.split())
    assert rc != 0 and "exit status 78" in flat and f"switched back to {NEW}, ready again" in flat, out[-5000:]
    assert running_version(HOSTS[0], env) == NEW and ready(HOSTS[0], env)
    assert marker(HOSTS[0], env) == f"data-of-{HOSTS[0]}" and schema_version(HOSTS[0], env) == new_schema
    assert sh(HOSTS[0], env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip() != pid

    # 4. operator rollback: previous version with its pre-upgrade state
    rc, out = play(env, "rollback.yml", "-i", str(inv), "-l", HOSTS[1])
    (logs / "upgrade-4-rollback.log").write_text(out)
    assert rc == 0 and f"rolled back {NEW} -> {OLD}" in " ".join(out.split()), out[-4000:]
    assert running_version(HOSTS[1], env) == OLD and ready(HOSTS[1], env)
    assert schema_version(HOSTS[1], env) == old_schema and marker(HOSTS[1], env) == f"data-of-{HOSTS[1]}"

    check_token_rotation(HOSTS[2], env, logs, inv, fleet["openclaw_gateway_token"])


# the host library, then the poller that measures with it (scripts/readiness-poller.py)
POLLER = (ROOT / "module_utils" / "openclaw_host.py").read_text() + (ROOT / "scripts" / "readiness-poller.py").read_text()


AUTH_PROBE = r"""
import sys, urllib.request, urllib.error
req = urllib.request.Request('http://127.0.0.1:18789/tools/invoke', data=b'{"tool":"none"}', method='POST',
                             headers={'Content-Type': 'application/json', 'Authorization': 'Bearer ' + sys.stdin.read()})
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
"""


def auth_code(host, env, token):
    """HTTP status of the gateway's authenticated endpoint for `token` (401 = rejected; the token goes on stdin)."""
    return subprocess.run(["podman", "exec", "-i", host, "python3", "-c", AUTH_PROBE], input=token, env=env,
                          capture_output=True, text=True).stdout.strip()


def check_token_rotation(host, env, logs, inv, old_token):
    store = logs / "token-store"
    sh(host, env, "rm -f /run/poller.stop")
    poller = subprocess.Popen(["podman", "exec", host, "python3", "-c", POLLER, "/run/poller.stop"], env=env,
                              stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    rc, out = play(env, "rotate-token.yml", "-i", str(inv), "-l", host, "-vvv", "-e", f"openclaw_token_store={store}")
    time.sleep(1)
    sh(host, env, "touch /run/poller.stop")
    stats = yaml.safe_load(poller.communicate(timeout=30)[0])
    (logs / "upgrade-5-token.log").write_text(out)
    assert rc == 0, out[-4000:]
    token_file = store / f"{host}.token"
    new_token = token_file.read_text().strip()
    assert oct(token_file.stat().st_mode & 0o777) == "0o600" and len(new_token) >= 32
    assert stats["probes"] > 20 and stats["failed"] == 0, stats
    assert auth_code(host, env, new_token) == "404" and auth_code(host, env, old_token) == "401"
    assert new_token not in out and old_token not in out, "a token leaked into the -vvv output"
    assert sh(host, env, "stat -c %U:%a /etc/openclaw/gateway.token").stdout.strip() == "openclaw:600"
    assert sh(host, env, "test -s /var/lib/openclaw-ops/markers/token_rotated", check=False).returncode == 0

    # forced failure: the module writes a file the gateway does not read, so the new token is never accepted;
    # the file is put back and the working token still works
    sh(host, env, "cp -p /etc/openclaw/gateway.token /etc/openclaw/decoy.token")
    res = subprocess.run(["ansible", host, "-i", str(inv), "-b", "-m", "openclaw_token", "-a",
                          "token_file=/etc/openclaw/decoy.token config_path=/var/lib/openclaw/.openclaw/openclaw.json "
                          "state_dir=/var/lib/openclaw/.openclaw owner=openclaw group=openclaw accept_timeout=5 "
                          "node_bin_dir=/opt/openclaw/node/v24.21.0/bin"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    flat = " ".join((res.stdout + res.stderr).split())
    assert res.returncode != 0 and "the old token is back in place and accepted" in flat, flat[-3000:]
    assert new_token not in flat
    assert sh(host, env, "cat /etc/openclaw/decoy.token").stdout.strip() == new_token
    assert auth_code(host, env, new_token) == "404" and ready(host, env)

    # the host's token is authoritative once set: a routine deploy keeps the rotated token (changed=0, same PID),
    # and --check --diff predicts exactly that
    pid = sh(host, env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip()
    pin = ["-e", f"openclaw_gateway_version={active_version(host, env)}"]
    for extra in (["--check", "--diff"], []):
        rc, out = play(env, "deploy.yml", "-i", str(inv), "-l", host, *pin, *extra)
        (logs / f"upgrade-5-deploy-after-rotation{'-check' if extra else ''}.log").write_text(out)
        assert rc == 0 and recap(out)[host][1] == 0, out[-4000:]
    assert sh(host, env, "cat /etc/openclaw/gateway.token").stdout.strip() == new_token
    assert sh(host, env, "systemctl show -p MainPID --value openclaw-gateway").stdout.strip() == pid
    assert auth_code(host, env, new_token) == "404"
