"""The production path: every operations playbook over SSH as an ordinary account that becomes root with sudo,
the way the sample production inventory reaches its hosts (`ansible_user: deploy`, ansible.cfg's pipelining and
ControlPersist), on ONE real podman systemd host per sudo variant:

- `nopasswd`: `deploy ALL=(ALL:ALL) NOPASSWD: ALL` (the image's rule);
- `password`: the rule asks for deploy's password, given to ansible-playbook with `--become-password-file`
  (never on the command line), and the password must not appear in any output.

The host starts with openclaw 2026.9.5 pre-installed (a primed image); the run deploys it, then takes it through
health, backup with fetch, the archive list (`archives.yml`; with archives of earlier days planted, one encrypted),
the refusal of a restore of two hosts, a restore by date, logs with a planted token masked, service restart, token
rotation, channels, doctor (become the unprivileged service account), diagnose (bundle fetched to the controller) and
a real upgrade to 2026.9.6 (npm install over SSH), a deploy that changes nothing and, on the `nopasswd` host,
`retire.yml` (final backup, everything but the state removed) and a deploy that brings the gateway back. The read-only
questions, the refusal and the logs run on the `nopasswd` host only (they do not depend on how sudo is reached)."""

import json
import re
import subprocess
import tarfile

import pytest
from podman_host import BIN, ROOT, PodmanHost, sh

OLD, NEW = "2026.9.5", "2026.9.6"
TOKEN = "production-path-token-0123456789abcdef01234567"
SUDO_PASSWORD = "Correct-Horse-Battery-Staple-7"


BACKUPS = "/var/backups/openclaw"
OLDER = ("20250101T000000Z", "20250301T000000Z")


def plant_older_archives(host, fetched, tmp_path):
    """Copies of the fresh full archive under the names of 2025-01-01 and 2025-03-01, and the fresh config archive
    encrypted with age on the controller (as a store copy would be) under the name of 2025-03-01."""
    newest = sorted(fetched.glob(f"openclaw-backup-{host.name}-*.tar.gz"))[-1].name
    host.run(" && ".join(f"cp -p {BACKUPS}/{newest} {BACKUPS}/openclaw-backup-{host.name}-{t}.tar.gz" for t in OLDER))
    key = tmp_path / "age-key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    pub = subprocess.run(["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True).stdout.strip()
    enc = tmp_path / f"openclaw-config-{host.name}-{OLDER[1]}.tar.gz.age"
    config = sorted(fetched.glob(f"openclaw-config-{host.name}-*.tar.gz"))[-1]
    subprocess.run(["age", "-r", pub, "-o", str(enc), str(config)], check=True)
    sh("podman", "cp", str(enc), f"{host.name}:{BACKUPS}/{enc.name}")
    host.run(f"chown root:root {BACKUPS}/{enc.name} && chmod 0600 {BACKUPS}/{enc.name}")


def check_archives_and_restore_refusal(host, play, gateway, tmp_path, fetched):
    """archives.yml (under --check) lists every archive with its set and encryption, in the table and the report;
    restore.yml refuses a play of two hosts (this host under a second name) before either is reached."""
    report = tmp_path / "archives"
    out = play("archives.yml", "--check", "-e", f"openclaw_archives_report_dir={report}")
    assert recap(out, host.name)["changed"] == 0
    expected = {p.name: (p.name.split("-")[1], "no") for p in fetched.glob("*.tar.gz")}  # what backup.yml made
    expected.update({f"openclaw-backup-{host.name}-{t}.tar.gz": ("backup", "no") for t in OLDER})
    expected[f"openclaw-config-{host.name}-{OLDER[1]}.tar.gz.age"] = ("config", "yes")
    assert len(expected) == 7, expected
    for name, (backup_set, encrypted) in expected.items():
        row = rf"\| {re.escape(name)} \| \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \| [^|]+ \| {backup_set} \| {encrypted} \|"
        assert re.search(row, out), (name, out[-4000:])
    assert "| openclaw-backup-" + host.name + "-20250101T000000Z.tar.gz | 2025-01-01 00:00:00 |" in out
    listed = json.loads((report / "archives.json").read_text())["hosts"][host.name]
    assert listed["dir"] == BACKUPS and {a["name"]: (a["backup_set"], "yes" if a["encrypted"] else "no")
                                         for a in listed["archives"]} == expected
    assert (report / "archives.md").read_text().count("| openclaw-") == 7

    two = tmp_path / "alias.yml"  # the same host under a second name: with the real inventory, a play of two hosts
    two.write_text(re.sub(rf"^    {re.escape(host.name)}:$", f"    {host.name}-alias:",
                          (tmp_path / "hosts.yml").read_text(), flags=re.M))
    pid, before = gateway("MainPID"), host.run(f"ls -l --full-time {BACKUPS}").stdout
    out = play("restore.yml", "-i", str(two), ok=False)
    text = " ".join(out.split())
    assert f"This restore targets 2 hosts ({host.name}, {host.name}-alias)" in text, out[-3000:]
    assert "name one host with -l" in text and "Nothing was changed." in text
    assert recap(out, host.name) == {"ok": 1, "changed": 0, "unreachable": 0, "failed": 1}
    assert f"{host.name}-alias" not in out.split("PLAY RECAP")[-1]  # never reached
    assert gateway("MainPID") == pid and host.run(f"ls -l --full-time {BACKUPS}").stdout == before


def check_logs_are_masked(host, play, tmp_path):
    """logs.yml: a line that carries the host's token (no shape gives it away: masked by its value, read on the host)
    and a provider key under a JSON key is fetched masked; neither reaches the controller's file nor the output."""
    def line(secret, key):
        return json.dumps({"0": f"planted-secret-line {secret} end", "1": {"apiKey": key},
                           "_meta": {"logLevelName": "WARN", "date": "2026-11-30T00:00:00.000Z"}}, separators=(",", ":"))
    host.run(f"echo '{line(TOKEN, 'planted-provider-key-0123456789')}' >> /var/log/openclaw/openclaw.log")
    dest = tmp_path / "logs"
    out = play("logs.yml", "-e", f"openclaw_logs_dest={dest}", "-e", "openclaw_logs_pattern=planted-secret-line")
    fetched = (dest / f"{host.name}.log").read_text()
    assert fetched == line("***REDACTED***", "***REDACTED***") + "\n", fetched  # the line as logged, masked
    assert TOKEN not in out and f"{host.name}.log: 1 lines, secrets masked in 1" in " ".join(out.split()), out[-2000:]


def check_retire_and_come_back(host, play, token):
    """retire.yml on this host with its history (backups, a restore, a rotated token, maintenance, an upgrade): a
    final verified archive first, then nothing listens, no unit, timer, host command, sudoers rule or collector is
    left, and the state, the token and the backups stay; a second run changes nothing; deploy.yml brings the
    gateway back on the same state and token."""
    marker = "/var/lib/openclaw/.openclaw/retire-marker.txt"
    host.run(f"echo kept > {marker} && chown openclaw:openclaw {marker}")
    play("backup-schedule.yml")
    assert host.run("systemctl is-enabled openclaw-backup.timer").stdout.strip() == "enabled"
    archives_before = set(host.run(f"ls {BACKUPS}").stdout.split())
    preview = play("retire.yml", "--check", "--diff")
    assert "active" == host.run("systemctl is-active openclaw-gateway", check=False).stdout.strip(), preview[-3000:]
    out = play("retire.yml")
    final = [a for a in set(host.run(f"ls {BACKUPS}").stdout.split()) - archives_before if a.startswith("openclaw-final-")]
    assert len(final) == 1, (final, out[-3000:])
    listing = host.run(f"tar -tzf {BACKUPS}/{final[0]}").stdout
    assert "retire-marker.txt" in listing and "openclaw.json" in listing, listing[-2000:]
    gone = ["/etc/systemd/system/openclaw-gateway.service", "/etc/logrotate.d/openclaw-gateway", "/usr/local/bin/openclaw",
            "/etc/sudoers.d/openclaw-ops-cli", "/etc/systemd/system/openclaw-metrics.timer",
            "/etc/systemd/system/openclaw-backup.timer", "/usr/local/libexec/openclaw-ops/openclaw-metrics-collector"]
    left = host.run("ls -d " + " ".join(gone) + " 2>/dev/null", check=False).stdout.strip()
    assert left == "", f"left after retire.yml: {left}"
    assert host.run("ss -Hltn 'sport = :18789'").stdout.strip() == "", "something still listens on 18789"
    assert host.run(f"cat {marker}").stdout.strip() == "kept"
    assert host.run("cat /etc/openclaw/gateway.token").stdout.strip() == token
    assert archives_before <= set(host.run(f"ls {BACKUPS}").stdout.split()), "an archive was removed"
    assert recap(play("retire.yml"), host.name)["changed"] == 0
    back = play("deploy.yml", "-e", "openclaw_gateway_version=2026.9.6")
    assert host.run("systemctl is-active openclaw-gateway").stdout.strip() == "active", back[-3000:]
    assert host.run(f"cat {marker}").stdout.strip() == "kept"
    assert host.run("cat /etc/openclaw/gateway.token").stdout.strip() == token
    assert host.run("test -x /usr/local/bin/openclaw", check=False).returncode == 0


def recap(out, name):
    m = re.search(rf"{re.escape(name)}\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert m, out[-3000:]
    return {"ok": int(m[1]), "changed": int(m[2]), "unreachable": int(m[3]), "failed": int(m[4])}


@pytest.mark.parametrize("sudo", ["nopasswd", "password"])
def test_every_playbook_over_ssh_with_sudo(tmp_path, sudo):
    (tmp_path / "ssh").mkdir()
    with PodmanHost(prefix=f"openclaw-ssh-{sudo}", primed=OLD, ssh_dir=tmp_path / "ssh") as host:
        become = []
        if sudo == "password":
            host.run(f"echo 'deploy:{SUDO_PASSWORD}' | chpasswd && "
                     "echo 'deploy ALL=(ALL:ALL) ALL' > /etc/sudoers.d/deploy && visudo -cf /etc/sudoers.d/deploy")
            pw = tmp_path / "become-password"
            pw.write_text(SUDO_PASSWORD + "\n")
            pw.chmod(0o600)
            become = ["--become-password-file", str(pw)]
            # the host really asks: without the password, sudo refuses
            assert sh("ssh", "-i", str(host.ssh_key), "-p", str(host.ssh_port), "-o", "StrictHostKeyChecking=no",
                      "-o", "UserKnownHostsFile=/dev/null", "deploy@127.0.0.1", "sudo -n true",
                      check=False).returncode != 0
        inv = host.inventory(tmp_path, openclaw_gateway_token=TOKEN, openclaw_gateway_version=OLD)
        outputs = []

        def play(name, *args, ok=True):
            res = sh(str(BIN / "ansible-playbook"), str(ROOT / name), "-i", str(inv), *become,
                     *args, check=False, cwd=str(ROOT))
            out = res.stdout + res.stderr
            outputs.append(out)
            (tmp_path / f"{len(outputs):02d}-{name}.log").write_text(out)
            if ok:
                assert res.returncode == 0, out[-5000:]
            return out

        def gateway(field):
            return host.run(f"systemctl show -p {field} --value openclaw-gateway.service").stdout.strip()

        # what the quick start says first: --check --diff on a host with no unit yet reports the changes and
        # writes nothing (systemd cannot be asked about a unit that was not written)
        out = play("deploy.yml", "--check", "--diff")
        assert recap(out, host.name)["changed"] > 0
        assert host.run("test -e /etc/systemd/system/openclaw-gateway.service", check=False).returncode != 0
        # deploy over SSH, then a second run that changes nothing
        play("deploy.yml")
        assert recap(play("deploy.yml"), host.name)["changed"] == 0
        assert host.run("readlink /opt/openclaw/current").stdout.strip() == f"versions/{OLD}"

        # health: the table shows the version, ready
        out = play("health.yml")
        assert OLD in out and re.search(r"ready", out), out[-3000:]

        # backup, fetched to the controller: one readable archive per set, its manifest names the version
        store = tmp_path / "store"
        play("backup.yml", "-e", "openclaw_backup_fetch=true", "-e", f"openclaw_backup_store={store}")
        archives = sorted((store / host.name).glob("openclaw-backup-*.tar.gz"))
        assert archives, sorted(store.rglob("*"))
        with tarfile.open(archives[0]) as tf:
            assert json.load(tf.extractfile("manifest.json"))["openclaw_version"] == OLD

        # archives of earlier days (copies of this backup under older names), one of them encrypted for real
        plant_older_archives(host, store / host.name, tmp_path)
        if sudo == "nopasswd":  # the read-only questions and the refusal once: how sudo is reached does not matter
            check_archives_and_restore_refusal(host, play, gateway, tmp_path, store / host.name)

        # restore by date: the newest full archive taken strictly before it (the copy of 2025-03-01 is not before
        # 2025-03-01T00:00:00Z); the gateway comes back ready
        pid = gateway("MainPID")
        out = " ".join(play("restore.yml", "-l", host.name, "-e", "openclaw_restore_before=2025-03-01").split())
        chosen = f"{BACKUPS}/openclaw-backup-{host.name}-20250101T000000Z.tar.gz"
        assert f"restoring {chosen} (taken 2025-01-01T00:00:00Z: the newest full archive taken before " \
               "2025-03-01T00:00:00Z)" in out, out[-3000:]
        assert f"restored and ready ({chosen}," in out
        assert gateway("ActiveState") == "active" and gateway("MainPID") != pid

        if sudo == "nopasswd":
            check_logs_are_masked(host, play, tmp_path)

        # service restart: a new main PID
        pid = gateway("MainPID")
        play("service.yml", "-e", "action=restart")
        assert gateway("MainPID") not in ("0", pid)

        # token rotation: the new token reaches the controller store (0600), the host has it, no restart
        pid = gateway("MainPID")
        tokens = tmp_path / "tokens"
        play("rotate-token.yml", "-e", f"openclaw_token_store={tokens}")
        token_file = tokens / f"{host.name}.token"
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
        new_token = token_file.read_text().strip()
        assert new_token and new_token != TOKEN
        assert host.run("cat /etc/openclaw/gateway.token").stdout.strip() == new_token
        assert gateway("MainPID") == pid

        # channels through the host's openclaw command (as the service account); login needs a terminal and says how
        out = play("channels.yml")
        assert '"chat"' in out or "chat:" in out, out[-3000:]
        out = play("channels.yml", "-e", "action=login", "-e", "channel=whatsapp", ok=False)
        assert "ssh -t 127.0.0.1 sudo /usr/local/bin/openclaw channels login --channel whatsapp" in " ".join(out.split()), \
            out[-3000:]

        # doctor becomes the unprivileged service account; diagnose fetches its bundle
        play("doctor.yml")
        # maintenance: a dry run changes no session and takes no backup; apply=true backs up first, then cleans up;
        # both cap the journal with a journald drop-in
        before = host.run(f"ls {BACKUPS}").stdout
        out = play("maintenance.yml")
        assert "Preview only" in out and host.run(f"ls {BACKUPS}").stdout == before, out[-3000:]
        assert "SystemMaxUse=1G" in host.run("cat /etc/systemd/journald.conf.d/60-openclaw-ops.conf").stdout
        out = play("maintenance.yml", "-e", "apply=true")
        assert "Cleaned up the sessions after backup /var/backups/openclaw/openclaw-premaintenance-" in " ".join(out.split())
        assert "openclaw-premaintenance-" in host.run(f"ls {BACKUPS}").stdout
        assert gateway("ActiveState") == "active"
        diag = tmp_path / "diag"
        play("diagnose.yml", "-e", f"openclaw_diagnose_dir={diag}")
        assert len(list(diag.rglob("*.tar.gz"))) == 1

        # a real upgrade over SSH (npm install as root through sudo), then the inventory follows and a deploy
        # changes nothing: the rotated token and the upgraded version both stay
        play("upgrade.yml", "-e", f"openclaw_upgrade_version={NEW}")
        assert host.run("readlink /opt/openclaw/current").stdout.strip() == f"versions/{NEW}"
        pid = gateway("MainPID")
        assert recap(play("deploy.yml", "-e", f"openclaw_gateway_version={NEW}"), host.name)["changed"] == 0
        assert gateway("MainPID") == pid
        assert host.run("cat /etc/openclaw/gateway.token").stdout.strip() == new_token

        # nothing the runs left behind belongs to the login account
        assert host.run("find /etc/openclaw /var/lib/openclaw /opt/openclaw /var/backups/openclaw -uid 1500"
                        " -print -quit").stdout.strip() == ""
        if sudo == "nopasswd":
            check_retire_and_come_back(host, play, new_token)
        for out in outputs:
            assert SUDO_PASSWORD not in out and new_token not in out
