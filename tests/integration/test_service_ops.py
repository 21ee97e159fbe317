"""service.yml, diagnose.yml and doctor.yml against the real gateway deployed on ONE real podman systemd host
per scope (system unit; login user's `systemctl --user` unit), one host at a time, removed at the end."""

import json
import re
import subprocess
import tarfile
import time

import pytest
import yaml
from podman_host import BIN, ENV, ROOT, PodmanHost, playbook, sh

TOKEN = "svc-ops-test-token-0123456789abcdef0123456789"


def run_playbook(inventory, name, *args):
    res = sh(str(BIN / "ansible-playbook"), str(ROOT / name), "-i", str(inventory), *args,
             check=False, cwd=str(ROOT))
    return res.returncode, res.stdout + res.stderr


def status_line(out):
    # the default callback may wrap the one-line message
    m = re.search(r"manager=(\S+)\s+state=(\S+)\s+pid=(\d+)\s+memory=(\d+)MB\s+uptime=(\d+)s\s+ready=(\w+)\s+version=(\S+)",
                  out)
    assert m, out[-3000:]
    return dict(manager=m[1], state=m[2], pid=int(m[3]), memory_mb=int(m[4]), uptime=int(m[5]), ready=m[6] == "true",
                version=m[7])


def service(inventory, action):
    rc, out = run_playbook(inventory, "service.yml", "-e", f"action={action}")
    assert rc == 0, out[-4000:]
    return status_line(out)


def diagnose(inventory, tmp_path, tag):
    dest = tmp_path / f"diag-{tag}"
    rc, out = run_playbook(inventory, "diagnose.yml", "-e", f"openclaw_diagnose_dir={dest}")
    assert rc == 0, out[-4000:]
    m = re.search(r": (P[0-3]) \(([^)]*)\)", out)
    assert m, out[-3000:]
    bundles = list(dest.rglob("*.tar.gz"))
    assert len(bundles) == 1, bundles
    unpacked = tmp_path / f"unpacked-{tag}"
    with tarfile.open(bundles[0]) as tf:
        tf.extractall(unpacked, filter="data")
    return m[1], m[2], unpacked, out


@pytest.mark.parametrize("scope", ["system", "user"])
def test_service_diagnose_doctor(tmp_path, scope):
    with PodmanHost(prefix="openclaw-svc", primed="2026.9.6") as host:
        extra = {"openclaw_gateway_token": TOKEN, "openclaw_gateway_service_scope": scope,
                 "openclaw_gateway_cli_admin_group": ADMIN_GROUP}
        if scope == "user":
            host.run("useradd -m -s /bin/bash alice")
            extra["openclaw_gateway_login_user"] = "alice"
        inv = host.inventory(tmp_path, **extra)
        dep = playbook(inv)
        assert dep.returncode == 0, dep.stdout[-4000:]
        token_file = "/etc/openclaw/gateway.token" if scope == "system" else "/home/alice/.config/openclaw/gateway.token"
        token_content = host.run(f"cat {token_file}").stdout
        assert token_content.strip() == TOKEN

        # status: state, PID, memory, uptime, readiness
        st = service(inv, "status")
        assert st["manager"] == f"systemd/{scope}" and st["state"] == "active" and st["ready"], st
        assert st["pid"] > 0 and st["memory_mb"] > 100 and st["version"] == "2026.9.6", st

        # restart: a new main PID, ready again
        rs = service(inv, "restart")
        assert rs["pid"] > 0 and rs["pid"] != st["pid"] and rs["ready"] and rs["state"] == "active", (st, rs)

        # stop: inactive, no PID, nothing listening
        sp = service(inv, "stop")
        assert sp["state"] in ("inactive", "failed") and sp["pid"] == 0 and not sp["ready"], sp
        assert service(inv, "status")["state"] in ("inactive", "failed")

        # diagnose while down: P0
        cls, category, unpacked, out = diagnose(inv, tmp_path, "down")
        assert cls == "P0", out[-3000:]

        # start: ready again
        sa = service(inv, "start")
        assert sa["state"] == "active" and sa["ready"] and sa["pid"] > 0, sa

        # diagnose while up: a class, every expected file, no secret anywhere in the bundle
        cls, category, unpacked, out = diagnose(inv, tmp_path, "up")
        assert cls in ("P1", "P2", "P3"), out[-3000:]
        names = {p.name for p in unpacked.rglob("*") if p.is_file()}
        assert {"service-status.txt", "journal.txt", "sockets.txt", "versions.txt", "config-validate.json",
                "doctor-lint.json", "disk.txt", "memory.txt", "summary.json", "openclaw.json",
                "gateway-log.txt"} <= names, names
        for f in list((tmp_path / "unpacked-up").rglob("*")) + list((tmp_path / "unpacked-down").rglob("*")):
            if f.is_file():
                data = f.read_bytes()
                assert TOKEN.encode() not in data and token_content.strip().encode() not in data, f
        sockets = next(unpacked.rglob("sockets.txt")).read_text()
        assert "18789" in sockets
        versions = next(unpacked.rglob("versions.txt")).read_text()
        assert "v24.21.0" in versions and "2026.9.6" in versions, versions
        assert '"valid": true' in next(unpacked.rglob("config-validate.json")).read_text()
        assert '"checksRun"' in next(unpacked.rglob("doctor-lint.json")).read_text()

        # doctor: verified backup first, then doctor runs, gateway ready after
        rc, out = run_playbook(inv, "doctor.yml")
        assert rc == 0, out[-4000:]
        archives = host.run("ls /var/backups/openclaw/openclaw-predoctor-*.tar.gz").stdout.split()
        assert len(archives) == 1, archives
        assert re.search(r"doctor rc=[01]", out) and "ready=True" in out, out[-3000:]
        assert service(inv, "status")["ready"]

        check_host_command(host, scope)
        if scope == "system":
            check_a_refused_unit_value_changes_nothing(host, inv)
        if scope == "user":
            check_bad_inputs_change_nothing(host, inv)
        check_reload_or_restart(host, inv, scope)
        if scope == "system":
            check_environment(host, inv)
            check_credentials(host, inv, tmp_path)


ADMIN_GROUP = "openclaw-admins"
STATE = {"system": "/var/lib/openclaw/.openclaw", "user": "/home/alice/.openclaw"}
# The handbook's host commands (服务管理/监控/故障排除), each expected to exit 0 on a healthy deployed gateway.
HANDBOOK_COMMANDS = ["status", "health", "logs --limit 20 --plain", "doctor --json", "channels status",
                     "sessions cleanup --dry-run", "config get gateway.port", "security audit"]


def check_host_command(host, scope):
    """`openclaw` is a command on the host: the handbook's commands exit 0 as root and as a member of the admin
    group, `logs --follow` streams, and afterwards nothing in the state directory is owned by root."""
    host.run(f"useradd -m -s /bin/bash -G {ADMIN_GROUP} bob")
    for user, cmds in (("root", HANDBOOK_COMMANDS), ("bob", ["status", "health", "config get gateway.port"])):
        for cmd in cmds:
            res = host.run(f"su -s /bin/sh {user} -c 'cd / && openclaw {cmd}'", check=False)
            assert res.returncode == 0, f"`openclaw {cmd}` as {user} ({scope}): rc={res.returncode}\n" \
                f"{res.stdout[-1500:]}{res.stderr[-1500:]}"
            if cmd == "config get gateway.port":
                assert "18789" in res.stdout, res.stdout
    follow = host.run("timeout 8 openclaw logs --follow --plain", check=False)
    assert follow.returncode == 124 and follow.stdout.strip(), (follow.returncode, follow.stdout[-500:], follow.stderr[-500:])
    # a user outside the group is refused by sudo, before anything runs
    host.run("useradd -m -s /bin/bash eve")
    denied = host.run("su -s /bin/sh eve -c 'openclaw status'", check=False)
    assert denied.returncode != 0, denied.stdout
    root_owned = host.run(f"find {STATE[scope]} -user root", check=False).stdout.strip()
    assert root_owned == "", f"root-owned files in the state dir after the host commands:\n{root_owned}"


# the host library, then the poller that measures with it (scripts/readiness-poller.py)
POLLER = (ROOT / "module_utils" / "openclaw_host.py").read_text() + (ROOT / "scripts" / "readiness-poller.py").read_text()


def check_reload_or_restart(host, inv, scope):
    """deploy.yml lets the running gateway apply an openclaw.json change itself (same PID, 0 failed readiness probes
    at 10 Hz for a logging level change) and restarts the process only for a listener change (gateway.port)."""
    show = "systemctl --user --machine=alice@ show" if scope == "user" else "systemctl show"
    main_pid = lambda: host.run(f"{show} -p MainPID --value openclaw-gateway.service").stdout.strip()  # noqa: E731
    pid = main_pid()
    host.run("rm -f /run/reload-poller.stop")
    poller = subprocess.Popen(["podman", "exec", host.name, "python3", "-c", POLLER, "/run/reload-poller.stop"],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    time.sleep(2)
    dep = playbook(inv, "-e", "openclaw_gateway_log_level=debug")
    time.sleep(2)
    host.run("touch /run/reload-poller.stop")
    stats = json.loads(poller.communicate(timeout=60)[0])
    assert dep.returncode == 0, dep.stdout[-4000:]
    assert stats["probes"] > 20 and stats["failed"] == 0, stats
    assert main_pid() == pid, "a hot-reloadable change restarted the gateway"
    state = STATE[scope]
    assert '"level": "debug"' in host.run(f"cat {state}/openclaw.json").stdout
    # a listener change needs the process restarted once; the deploy's own gate then finds it ready on the new port
    dep = playbook(inv, "-e", "openclaw_gateway_log_level=debug", "-e", "openclaw_gateway_port=18790")
    assert dep.returncode == 0, dep.stdout[-4000:]
    assert main_pid() != pid
    assert host.run("ss -ltnH 'sport = :18790'").stdout.strip(), "nothing listens on the new port"


def check_a_refused_unit_value_changes_nothing(host, inv):
    """A memory limit of the right shape that systemd refuses (out of range: preflight cannot know, the validator
    does) fails with systemd-analyze's own message before the live unit is replaced:
    the unit is byte-identical and the gateway keeps its PID; the same run with good values converges (changed=0)."""
    state = "sha256sum /etc/systemd/system/openclaw-gateway.service; systemctl show -p MainPID --value openclaw-gateway"
    before = host.run(state).stdout
    bad = playbook(inv, "-e", "openclaw_gateway_memory_max=99999999999999999999T")
    assert bad.returncode != 0 and "Invalid memory limit '99999999999999999999T'" in bad.stdout, bad.stdout[-4000:]
    assert host.run(state).stdout == before, "the live unit or the gateway changed after a refused value"
    good = playbook(inv)
    assert good.returncode == 0 and re.search(rf"{host.name}\s*:\s*ok=\d+\s+changed=0\s", good.stdout), good.stdout[-4000:]
    assert host.run(state).stdout == before


# Bad values across three roles (issue 13): each fails with a sentence naming the variable (preflight, the role's
# argument spec, or the real validator of the rendered file on a temporary copy), before any live file changes.
BAD_INPUTS = [
    ("deploy.yml", {"openclaw_gateway_memory_max": "lots"}, "openclaw_gateway_memory_max must be a systemd size"),
    ("deploy.yml", {"openclaw_gateway_memory_high": "-1"}, "openclaw_gateway_memory_high must be a systemd size"),
    ("deploy.yml", {"openclaw_gateway_cpu_quota": "150"}, "openclaw_gateway_cpu_quota must be a percentage"),
    ("deploy.yml", {"openclaw_gateway_timeout_stop_sec": -5}, "openclaw_gateway_timeout_stop_sec must be a whole number"),
    ("deploy.yml", {"openclaw_gateway_restart_sec": "soon"}, "openclaw_gateway_restart_sec"),
    ("deploy.yml", {"openclaw_gateway_logrotate_maxsize": "10 MB"},
     "openclaw_gateway_logrotate_maxsize must be a logrotate size"),
    ("deploy.yml", {"openclaw_gateway_logrotate_frequency": "hourly"}, "openclaw_gateway_logrotate_frequency"),
    ("deploy.yml", {"openclaw_gateway_log_level": "loud"}, "openclaw_gateway_log_level"),
    ("deploy.yml", {"openclaw_gateway_port": 0}, "openclaw_gateway_port"),
    ("deploy.yml", {"openclaw_gateway_secrets": {"../escape": "x"}}, "openclaw_gateway_secrets"),
    ("deploy.yml", {"openclaw_gateway_environment": {"1BAD": "x"}}, "openclaw_gateway_environment"),
    ("deploy.yml", {"openclaw_gateway_extra_config": {"gateway": {"noSuchSetting": True}}}, "noSuchSetting"),
    ("harden.yml", {"openclaw_hardening_firewall_enabled": True, "openclaw_hardening_firewall_allowed_tcp_ports": [443, 0]},
     "openclaw_hardening_firewall_allowed_tcp_ports and _udp_ports must be ports 1-65535 (got 0)"),
    ("harden.yml", {"openclaw_hardening_proxy_enabled": True, "openclaw_hardening_proxy_server_name": "gw1 example.org"},
     'openclaw_hardening_proxy_server_name must be one host name such as gw1.example.org, without spaces'),
    ("backup-schedule.yml", {"openclaw_backup_schedule_on_calendar": "*-*-* 25:99:00"},
     "openclaw_backup_schedule_on_calendar \"*-*-* 25:99:00\" is not a systemd calendar expression: Failed to parse"),
]


def aliased_inventory(inv, path, bad):
    """`inv` with its one host replaced by one alias per bad value (bad-0, bad-1, ...: the same host, reached the same
    way), each alias carrying its value as a host variable: a playbook run checks every value at once (forks)."""
    data = yaml.safe_load(inv.read_text())
    data["openclaw"]["hosts"] = {f"bad-{i}": dict(values) for i, values in enumerate(bad)}
    path.write_text(yaml.safe_dump(data))
    return path


def failure_of(out, alias):
    """The text of `alias`'s failed task(s) in a playbook's output."""
    blocks = re.findall(rf"fatal: \[{re.escape(alias)}\]: FAILED!.*?(?=\nfatal: \[|\nTASK \[|\nPLAY RECAP|\Z)", out, re.S)
    return " ".join(" ".join(blocks).split())


def check_bad_inputs_change_nothing(host, inv):
    """Every bad value in BAD_INPUTS fails with its message on this deployed host; the live files (units, timers,
    openclaw.json, logrotate, token, secrets, environment, host command, sudo rule) are byte-identical and the gateway
    keeps its PID after them; one run with the good values afterwards changes nothing. The values of one playbook run
    together, each on an alias of the host (one playbook start instead of one per value)."""
    files = ("find /etc/systemd/system /etc/logrotate.d /etc/openclaw /etc/sudoers.d /home/alice/.config/systemd "
             "/home/alice/.config/openclaw /usr/local/bin/openclaw /home/alice/.openclaw/openclaw.json "
             "-type f 2>/dev/null | sort | xargs sha256sum")
    state = f"{files}; systemctl --user --machine=alice@ show -p MainPID --value openclaw-gateway.service"
    before = host.run(state).stdout
    assert "openclaw.json" in before and "openclaw-gateway.service" in before, before
    for name in dict.fromkeys(n for n, _extra, _message in BAD_INPUTS):
        cases = [(extra, message) for n, extra, message in BAD_INPUTS if n == name]
        aliases = aliased_inventory(inv, inv.parent / f"bad-{name}", [extra for extra, _message in cases])
        rc, out = run_playbook(aliases, name)
        assert rc != 0, out[-3000:]
        for i, (extra, message) in enumerate(cases):
            assert message in failure_of(out, f"bad-{i}"), (extra, failure_of(out, f"bad-{i}")[-2000:] or out[-3000:])
            assert re.search(rf"bad-{i}\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=1", out), (extra, out[-2000:])
        assert host.run(state).stdout == before, f"a bad value for {name} changed a live file or the gateway"
    good = playbook(inv)
    assert good.returncode == 0 and re.search(rf"{host.name}\s*:\s*ok=\d+\s+changed=0\s", good.stdout), good.stdout[-4000:]
    assert host.run(state).stdout == before


def check_environment(host, inv):
    """openclaw_gateway_environment(_secrets) reach the gateway's process environment through a 0600 EnvironmentFile:
    never the unit, `systemctl show` or the play's output; a bad name is refused in preflight with the gateway
    untouched. (Runs after check_reload_or_restart: port 18790 and log level debug are the host's values now.)"""
    keep = ["-e", "openclaw_gateway_log_level=debug", "-e", "openclaw_gateway_port=18790"]
    show = "systemctl show -p MainPID --value openclaw-gateway"
    pid = host.run(show).stdout.strip()
    bad = playbook(inv, *keep, "-e", json.dumps({"openclaw_gateway_environment": {"BAD-NAME": "x"}}))
    assert bad.returncode != 0 and "Invalid environment variable name(s) BAD-NAME" in bad.stdout, bad.stdout[-3000:]
    assert host.run(show).stdout.strip() == pid
    secret = "sk-fake-provider-key-0123456789abcdef"
    env = {"openclaw_gateway_environment": {"NO_PROXY": "localhost,127.0.0.1", "TZ": "UTC"},
           "openclaw_gateway_environment_secrets": {"FAKE_PROVIDER_API_KEY": secret}}
    dep = playbook(inv, *keep, "-e", json.dumps(env), "-v")
    assert dep.returncode == 0, dep.stdout[-4000:]
    assert secret not in dep.stdout + dep.stderr, "an environment secret reached the play's output"
    new_pid = host.run(show).stdout.strip()
    assert new_pid != pid, "an environment change needs a restart"
    environ = host.run(f"runuser -u openclaw -- cat /proc/{new_pid}/environ | tr '\\0' '\\n'").stdout.splitlines()
    assert {"NO_PROXY=localhost,127.0.0.1", "TZ=UTC", f"FAKE_PROVIDER_API_KEY={secret}"} <= set(environ), environ
    assert host.run("stat -c %U:%a /etc/openclaw/gateway.env").stdout.strip() == "openclaw:600"
    for where in ("cat /etc/systemd/system/openclaw-gateway.service", "systemctl show openclaw-gateway",
                  "cat /var/lib/openclaw/.openclaw/openclaw.json"):
        assert secret not in host.run(where).stdout, where
    again = playbook(inv, *keep, "-e", json.dumps(env))
    assert again.returncode == 0 and re.search(rf"{host.name}\s*:\s*ok=\d+\s+changed=0\s", again.stdout), \
        again.stdout[-3000:]


def check_credentials(host, inv, tmp_path):
    """openclaw_gateway_secrets become file SecretRefs: a model-provider key and a Telegram bot token (fake, the channel
    disabled so no network call is made) pass the real `config validate`, and the gateway's own `secrets audit` finds
    every ref resolved and no plaintext; no value in openclaw.json, the unit, the process environment or the output.
    A reference to an undefined name stops in preflight; removing the map removes the file and the provider. Neither
    `-vvv` output nor the diagnose bundle carries a value."""
    keep = ["-e", "openclaw_gateway_log_level=debug", "-e", "openclaw_gateway_port=18790"]
    key, bot = "sk-ant-fake-0123456789abcdef", "123456:fake-telegram-bot-token-abcdef"
    extra = {"models": {"providers": {"anthropic": {"apiKey": "{{ 'anthropic_api_key' | openclaw_secret_ref }}"}}},
             "channels": {"telegram": {"enabled": False, "botToken": "{{ 'telegram_bot_token' | openclaw_secret_ref }}"}}}
    good = {"openclaw_gateway_secrets": {"anthropic_api_key": key, "telegram_bot_token": bot},
            "openclaw_gateway_extra_config": extra}
    pid = host.run("systemctl show -p MainPID --value openclaw-gateway").stdout.strip()
    missing = dict(good, openclaw_gateway_secrets={"anthropic_api_key": key})
    bad = playbook(inv, *keep, "-e", json.dumps(missing))
    flat = " ".join(bad.stdout.split())
    assert bad.returncode != 0 and "references telegram_bot_token (openclaw_secret_ref) but openclaw_gateway_secrets" \
        in flat, bad.stdout[-3000:]
    assert key not in bad.stdout and host.run("test -e /etc/openclaw/secrets.json", check=False).returncode != 0
    assert host.run("systemctl show -p MainPID --value openclaw-gateway").stdout.strip() == pid
    dep = playbook(inv, *keep, "-e", json.dumps(good), "-vvv")
    assert dep.returncode == 0, dep.stdout[-4000:]
    assert key not in dep.stdout + dep.stderr and bot not in dep.stdout + dep.stderr
    audit = json.loads(host.run("openclaw secrets audit --json").stdout)
    assert audit["status"] == "clean" and audit["resolution"]["refsChecked"] >= 3, audit
    assert audit["summary"]["plaintextCount"] == 0 and audit["summary"]["unresolvedRefCount"] == 0, audit
    assert host.run("stat -c %U:%a /etc/openclaw/secrets.json").stdout.strip() == "openclaw:600"
    new_pid = host.run("systemctl show -p MainPID --value openclaw-gateway").stdout.strip()
    for where in ("cat /var/lib/openclaw/.openclaw/openclaw.json", "cat /etc/systemd/system/openclaw-gateway.service",
                  f"runuser -u openclaw -- cat /proc/{new_pid}/environ | tr '\\0' '\\n'"):
        out = host.run(where).stdout
        assert key not in out and bot not in out, where
    _, _, unpacked, out = diagnose(inv, tmp_path, "with-secrets")
    for f in [out] + [f.read_text(errors="replace") for f in unpacked.rglob("*") if f.is_file()]:
        assert key not in f and bot not in f
    # removing the credentials removes their file and the provider
    dep = playbook(inv, *keep)
    assert dep.returncode == 0, dep.stdout[-4000:]
    assert host.run("test -e /etc/openclaw/secrets.json", check=False).returncode != 0
    assert "openclawops" not in host.run("cat /var/lib/openclaw/.openclaw/openclaw.json").stdout
