"""The production path: every operations playbook over SSH as an ordinary account that becomes root with sudo,
the way the sample production inventory reaches its hosts (`ansible_user: deploy`, ansible.cfg's pipelining and
ControlPersist), on ONE real podman systemd host per sudo variant:

- `nopasswd`: `deploy ALL=(ALL:ALL) NOPASSWD: ALL` (the image's rule);
- `password`: the rule asks for deploy's password, given to ansible-playbook with `--become-password-file`
  (never on the command line), and the password must not appear in any output.

The host starts with openclaw 2026.9.5 pre-installed (a primed image); the run deploys it, then takes it through
health, backup with fetch, restore, service restart, token rotation, channels, doctor (become the unprivileged service
account), diagnose (bundle fetched to the controller) and a real upgrade to 2026.9.6 (npm install over SSH), and
ends with a deploy that changes nothing."""

import json
import re
import tarfile

import pytest
from podman_host import ROOT, PodmanHost, sh

OLD, NEW = "2026.9.5", "2026.9.6"
TOKEN = "production-path-token-0123456789abcdef01234567"
SUDO_PASSWORD = "Correct-Horse-Battery-Staple-7"


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
            res = sh(str(ROOT / ".venv" / "bin" / "ansible-playbook"), str(ROOT / name), "-i", str(inv), *become,
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

        # restore the host's newest archive: the gateway comes back ready
        pid = gateway("MainPID")
        play("restore.yml")
        assert gateway("ActiveState") == "active" and gateway("MainPID") != pid

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
        for out in outputs:
            assert SUDO_PASSWORD not in out and new_token not in out
