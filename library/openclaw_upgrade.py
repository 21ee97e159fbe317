#!/usr/bin/python
"""Ansible module: upgrade the OpenClaw gateway side by side, gate it, and roll back package and state on failure."""

DOCUMENTATION = r"""
---
module: openclaw_upgrade
short_description: Upgrade (or roll back) the OpenClaw gateway with an automatic way back to the previous package and state
description:
  - The gateway's state migrations are one-way (openclaw 2026.9.5 exits 78 on state migrated by 2026.9.6), so a rollback
    must bring back the previous package B(and) the pre-upgrade state. This module does both.
  - C(action=upgrade) installs the target version from the npm registry into C(<install_root>/versions/<v>) while the
    old version keeps serving, unpacks the pre-upgrade backup (O(backup_archive), taken just before by
    M(openclaw.ops.openclaw_backup)) into a ready-to-swap rollback directory, rehearses the start of the target on a copy of it
    (O(rehearse)), switches the C(current) symlink, restarts the unit, and gates on C(/readyz) plus C(/startupz)
    reporting the target version plus the optional O(verify_command). On any failure it stops the gateway, puts the
    pre-upgrade state in place (the migrated state is kept aside for forensics), switches C(current) back, starts,
    gates again, and fails with C(rolled_back=true) and the reason.
  - C(action=rollback) is the way back an operator asks for after an upgrade, to the previous version with its pre-upgrade
    state, from the record the last upgrade left in O(record_dir). If that fails, the upgraded state is put back.
  - C(action=plan) (and check mode) reports what would happen without changing anything.
  - A 10 Hz readiness poller runs for the whole switch and reports the downtime it saw.
  - Upgrading to the version already running changes nothing. Keeps the newest O(keep_versions) installs, prunes the rest.
version_added: "0.2.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  action:
    description: What to do.
    type: str
    choices: [upgrade, rollback, plan]
    default: upgrade
  version:
    description: Target openclaw version (required for C(upgrade) and C(plan)).
    type: str
  backup_archive:
    description: Pre-upgrade archive written by M(openclaw.ops.openclaw_backup) on this host; required when an upgrade is needed.
    type: path
  install_root:
    description: Root of the side-by-side installs (C(versions/<v>), C(current) symlink).
    type: path
    default: /opt/openclaw
  node_bin_dir:
    description: Directory with the C(node) and C(npm) binaries.
    type: path
    required: true
  npm_registry:
    description: npm registry to install from.
    type: str
    default: https://registry.npmjs.org/
  npm_cache_dir:
    description: npm download cache on the host.
    type: path
    default: /var/cache/openclaw/npm
  ca_bundle:
    description: NODE_EXTRA_CA_CERTS for npm.
    type: path
    default: /etc/ssl/certs/ca-certificates.crt
  state_dir:
    description: The gateway's state directory.
    type: path
    required: true
  owner:
    description: Owner of the state (service account or login user).
    type: str
    required: true
  group:
    description: Group of the state.
    type: str
    required: true
  unit:
    description: systemd unit of the gateway.
    type: str
    default: openclaw-gateway.service
  scope:
    description: System unit, or the user unit of O(user).
    type: str
    choices: [system, user]
    default: system
  user:
    description: Login user for O(scope=user).
    type: str
  port:
    description: Gateway port (loopback) for the gates and the poller.
    type: int
    default: 18789
  ready_timeout:
    description: Seconds the new version has to become ready (the way back gets at least 120 s).
    type: int
    default: 120
  verify_command:
    description:
      - Operator check run (as root, through C(/bin/sh -c)) once the new version is ready; non-zero exit rolls back.
        Gets C(OPENCLAW_PORT), C(OPENCLAW_VERSION), C(OPENCLAW_STATE_DIR) in its environment.
    type: str
  verify_timeout:
    description: Seconds O(verify_command) may run.
    type: int
    default: 120
  keep_versions:
    description: Installed versions to keep (the running and the previous one are always kept).
    type: int
    default: 3
  min_free_mb:
    description: Free space needed under O(install_root) before installing a new version (~650 MB each).
    type: int
    default: 1024
  rehearse:
    description:
      - Before the switch, start the target version once on a copy of the pre-upgrade state, on a spare loopback port,
        with channels, cron, the mail watcher, browser control and the canvas host switched off, while the running
        gateway keeps serving. A release that cannot start on this host's state (for example an older one that refuses
        the migrated state with exit 78) is then refused with no downtime at all, and the real start after the switch
        finds the new version's compile cache warm (the unit's C(NODE_COMPILE_CACHE)).
      - Costs one more gateway start (~15 s) and ~0.8 GB of memory beside the running gateway, before the switch.
      - With V(false) a release that cannot start is caught after the switch and rolled back.
    type: bool
    default: true
  record_dir:
    description: Where the last upgrade is recorded (from/to version, pre-upgrade archive) for C(action=rollback).
    type: path
    default: /var/lib/openclaw-ops/upgrade
attributes:
  check_mode:
    support: full
    description: Reports the plan (from/to version, install needed, versions to prune) without changing anything.
  diff_mode:
    support: none
    description: No diff is returned; check mode reports the plan instead.
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
"""

EXAMPLES = r"""
- name: Upgrade to 2026.9.6 with rollback on failure
  openclaw_upgrade:
    version: "2026.9.6"
    backup_archive: "{{ pre_upgrade_backup.path }}"
    node_bin_dir: /opt/openclaw/node/v24.21.0/bin
    state_dir: /var/lib/openclaw/.openclaw
    owner: openclaw
    group: openclaw
    verify_command: /usr/local/bin/check-my-channels

- name: Operator-initiated rollback to the previous version and its pre-upgrade state
  openclaw_upgrade:
    action: rollback
    node_bin_dir: /opt/openclaw/node/v24.21.0/bin
    state_dir: /var/lib/openclaw/.openclaw
    owner: openclaw
    group: openclaw
"""

RETURN = r"""
from_version:
  description: Version running before.
  returned: always
  type: str
  sample: "2026.9.5"
to_version:
  description: Version asked for (for a rollback, the version rolled back to).
  returned: always
  type: str
  sample: "2026.9.6"
rehearsal_seconds:
  description: How long the rehearsal start of the target took, from the state copy until it was ready (O(rehearse)).
  returned: when an upgrade was rehearsed successfully
  type: float
  sample: 17.4
refused:
  description: True when the rehearsal failed and the upgrade stopped before the switch (the running gateway untouched).
  returned: when the rehearsal failed
  type: bool
current_version:
  description: Version the C(current) symlink points at when the module ends.
  returned: always
  type: str
  sample: "2026.9.6"
rolled_back:
  description: The change failed and the previous package and state were put back.
  returned: always
  type: bool
  sample: false
reason:
  description: Why it failed or rolled back.
  returned: when failed
  type: str
  sample: "openclaw-gateway.service failed (result exit-code, exit status 78)"
downtime_seconds:
  description: Time the 10 Hz readiness poller saw /readyz not ready during the change.
  returned: when something was switched
  type: float
  sample: 8.4
failed_probes:
  description: Readiness probes that failed during the change.
  returned: when something was switched
  type: int
  sample: 81
duration:
  description: Seconds the module ran.
  returned: always
  type: float
  sample: 41.2
installed:
  description: The target version was installed by this run.
  returned: always
  type: bool
  sample: true
pruned:
  description: Old versions removed.
  returned: always
  type: list
  elements: str
  sample: ["2026.9.3"]
aside:
  description: Where the state that was replaced was kept (migrated state after a rollback).
  returned: when a state was replaced
  type: str
  sample: /var/lib/openclaw/.openclaw.failed-upgrade-20261126T101500Z
"""

import ctypes
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_archive import ArchiveError, clear_stale_owner_lease, extract_payload, verify
from ansible.module_utils.openclaw_gateway_control import ReadinessPoller, Service, chown_tree
from ansible.module_utils.openclaw_probe import tail_file, wait_for

VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")
# The rehearsal gateway must not reach out: no channel logins (a second bot session would fight the live one), no cron
# runs, no mail watcher, no browser-control or canvas servers. All five are the gateway's own switches.
REHEARSAL_ENV = {name: "1" for name in ("OPENCLAW_SKIP_CHANNELS", "OPENCLAW_SKIP_CRON", "OPENCLAW_SKIP_GMAIL_WATCHER",
                                        "OPENCLAW_SKIP_BROWSER_CONTROL_SERVER", "OPENCLAW_SKIP_CANVAS_HOST")}


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def free_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upgrader:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.versions = os.path.join(self.p["install_root"], "versions")
        self.current_link = os.path.join(self.p["install_root"], "current")
        self.state = os.path.realpath(self.p["state_dir"])
        self.svc = Service(module, self.p["unit"], self.p["scope"], self.p["user"], self.p["port"])
        self.record_path = os.path.join(self.p["record_dir"], "last.json")
        self.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.started = time.monotonic()
        self.result = dict(changed=False, rolled_back=False, installed=False, pruned=[])

    # --- reading -------------------------------------------------------------------------------------------
    def current_version(self):
        try:
            return os.path.basename(os.readlink(self.current_link))
        except OSError:
            return None

    def is_installed(self, version):
        return os.path.isfile(os.path.join(self.versions, version, "node_modules", "openclaw", "package.json"))

    def prune_plan(self, keep):
        names = [n for n in os.listdir(self.versions) if VERSION_RE.match(n) and
                 os.path.isdir(os.path.join(self.versions, n))] if os.path.isdir(self.versions) else []
        names.sort(key=lambda n: os.path.getmtime(os.path.join(self.versions, n)), reverse=True)
        kept = [n for n in names if n in keep]
        for n in names:
            if len(kept) >= self.p["keep_versions"]:
                break
            if n not in kept:
                kept.append(n)
        return [n for n in names if n not in kept]

    def read_record(self):
        try:
            with open(self.record_path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    # --- changing ------------------------------------------------------------------------------------------
    def fail(self, msg, **extra):
        if self.result.get("changed"):
            self.prune_asides()
        self.result.update(extra, duration=round(time.monotonic() - self.started, 2),
                           current_version=self.current_version())
        self.m.fail_json(msg=msg, **self.result)

    def prune_asides(self, keep=1):
        """Replaced states kept for forensics (failed upgrades, operator rollbacks): the newest of each kind stays."""
        parent, base = os.path.split(self.state)
        for kind in ("failed-upgrade", "rolled-back-from", "rollback-failed-state"):
            found = sorted((n for n in os.listdir(parent) if n.startswith(f"{base}.{kind}-")),
                           key=lambda n: os.path.getmtime(os.path.join(parent, n)), reverse=True)
            for name in found[keep:]:
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)

    def write_record(self, **record):
        os.makedirs(self.p["record_dir"], mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.p["record_dir"])
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=2, sort_keys=True)
        self.m.atomic_move(tmp, self.record_path)

    def install(self, version):
        """npm installs into <v>.partial, renamed only on success: an interrupted install never looks installed."""
        free = shutil.disk_usage(self.p["install_root"]).free // 1048576
        if free < self.p["min_free_mb"]:
            self.fail(f"Not enough space to install openclaw {version} beside the running one: {free} MB free under "
                      f"{self.p['install_root']}, {self.p['min_free_mb']} MB needed (min_free_mb). Nothing was changed.")
        dest = os.path.join(self.versions, version)
        partial = dest + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        env = {"PATH": f"{self.p['node_bin_dir']}:/usr/local/bin:/usr/bin:/bin", "HOME": "/root",
               "NODE_EXTRA_CA_CERTS": self.p["ca_bundle"]}
        rc, out, err = self.m.run_command(
            ["npm", "install", "--prefix", partial, "--registry", self.p["npm_registry"], "--cache",
             self.p["npm_cache_dir"], "--omit=dev", "--no-fund", "--no-audit", "--no-update-notifier", "--loglevel=error",
             "--fetch-retries=3", f"openclaw@{version}"], environ_update=env, cwd="/")
        if rc != 0:
            shutil.rmtree(partial, ignore_errors=True)
            self.fail(f"npm could not install openclaw@{version} (the running version is untouched): "
                      f"{(err or out).strip()[-400:]}")
        with open(os.path.join(partial, "node_modules", "openclaw", "package.json")) as fh:
            got = json.load(fh).get("version")
        if got != version:
            shutil.rmtree(partial, ignore_errors=True)
            self.fail(f"npm installed openclaw {got}, not {version}; nothing was switched.")
        os.rename(partial, dest)
        self.result["installed"] = True

    def switch(self, version):
        """Point `current` at versions/<v> with one rename (a reader never sees a missing link)."""
        tmp = f"{self.current_link}.tmp-{os.getpid()}"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(f"versions/{version}", tmp)
        os.replace(tmp, self.current_link)

    def prepare_state(self, archive, purpose):
        """Verify `archive` and unpack it into a directory beside the state, ready to be swapped in by a rename."""
        scratch = tempfile.mkdtemp(prefix="openclaw-upgrade-verify-")
        try:
            manifest = verify(archive, scratch)
        except ArchiveError as exc:
            self.fail(f"The {purpose} archive {archive} does not verify ({exc}); nothing was changed.")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        staging = f"{self.state}.{purpose}-{self.stamp}"
        shutil.rmtree(staging, ignore_errors=True)
        extract_payload(archive, staging, manifest["payload_prefix"])
        clear_stale_owner_lease(staging)
        chown_tree(staging, self.p["owner"], self.p["group"])
        return staging

    def swap_state(self, staging, aside):
        """Stopped gateway only: current state -> aside, staging -> state."""
        if os.path.exists(self.state):
            os.rename(self.state, aside)
        os.rename(staging, self.state)

    def rehearse(self, version, staging):
        """Start `version` once on a copy of the pre-upgrade state, on a spare loopback port, while the running gateway
        keeps serving. It proves that the new release starts and migrates this host's real state before any downtime,
        and it leaves the V8 compile cache of the new release warm in the unit's NODE_COMPILE_CACHE, so the real start
        after the switch does not compile the code first. Raises RuntimeError (nothing switched) when it does not start."""
        started = time.monotonic()
        parent, base = os.path.split(self.state)
        for name in os.listdir(parent):  # left by a run that was killed mid-rehearsal
            if name.startswith(f"{base}.rehearsal-"):
                shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        rdir = f"{self.state}.rehearsal-{self.stamp}"
        os.makedirs(rdir, mode=0o700)
        proc = None
        try:
            state = os.path.join(rdir, "state")
            shutil.copytree(staging, state, symlinks=True)
            for scratch in ("tmp", "cache"):  # the gateway's lock files live in tmp/: never a copy of the live one
                shutil.rmtree(os.path.join(state, scratch), ignore_errors=True)
            env = self.svc.environment()
            port = free_loopback_port()
            log = os.path.join(rdir, "gateway.log")
            config = env.get("OPENCLAW_CONFIG_PATH")
            if config and os.path.isfile(config):
                try:
                    with open(config) as fh:
                        cfg = json.load(fh)
                    # own port, loopback only, own log file: nothing of the rehearsal reaches the live log
                    cfg.setdefault("gateway", {}).update(port=port, bind="loopback")
                    cfg.setdefault("logging", {})["file"] = log
                    config = os.path.join(rdir, "openclaw.json")
                    with open(config, "w") as fh:
                        json.dump(cfg, fh)
                except ValueError:  # JSON5 written by hand: keep it, --port still moves the listener
                    pass
            user = pwd.getpwnam(self.p["owner"])
            env.update(REHEARSAL_ENV, OPENCLAW_STATE_DIR=state, HOME=env.get("HOME", user.pw_dir))
            if config:
                env["OPENCLAW_CONFIG_PATH"] = config
            env.setdefault("PATH", f"{self.p['node_bin_dir']}:/usr/local/bin:/usr/bin:/bin")
            if "NODE_COMPILE_CACHE" not in env:  # a unit rendered before the compile cache: nothing to warm, do not litter /tmp
                env["NODE_DISABLE_COMPILE_CACHE"] = "1"
            chown_tree(rdir, self.p["owner"], self.p["group"])
            cli = os.path.join(self.versions, version, "node_modules", ".bin", "openclaw")

            def as_owner():
                os.setgid(user.pw_gid)
                os.initgroups(user.pw_name, user.pw_gid)
                os.setuid(user.pw_uid)
                # dies with this module (SIGTERM, forwarded to its gateway child): no orphan if the task is killed.
                # After setuid: a credential change clears the parent-death signal.
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

            with open(os.path.join(rdir, "stdout.log"), "wb") as out:
                proc = subprocess.Popen([cli, "gateway", "run", "--port", str(port)], env=env, cwd=rdir, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=as_owner,
                                        start_new_session=True)
            deadline = time.monotonic() + max(self.p["ready_timeout"], 120)
            while True:
                summary = wait_for(self.m, "127.0.0.1", port, 2.0, 2.0, 0.2, expect_version=version)
                if not summary["problems"]:
                    break
                if proc.poll() is not None or time.monotonic() >= deadline:
                    tail = [line for line in tail_file(os.path.join(rdir, "stdout.log"), 6) if line.strip()]
                    why = (f"exit status {proc.returncode}" if proc.returncode is not None else
                           "not ready within the timeout: " + "; ".join(summary["problems"]))
                    raise RuntimeError(f"rehearsal start of openclaw {version} on a copy of this host's state failed "
                                       f"({why}){': ' + ' | '.join(tail)[-600:] if tail else ''}")
            self.result["rehearsal_seconds"] = round(time.monotonic() - started, 2)
        finally:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            shutil.rmtree(rdir, ignore_errors=True)

    def prune_compile_cache(self, versions):
        """The unit's compile cache keeps one directory per openclaw version: drop those of pruned versions."""
        base = self.svc.environment().get("NODE_COMPILE_CACHE")
        for name in versions if base else ():
            shutil.rmtree(os.path.join(base, "openclaw", name), ignore_errors=True)

    def run_verify_command(self, version):
        cmd = self.p["verify_command"]
        if not cmd:
            return
        env = {"OPENCLAW_PORT": str(self.p["port"]), "OPENCLAW_VERSION": version, "OPENCLAW_STATE_DIR": self.state}
        rc, out, err = self.m.run_command(["timeout", str(self.p["verify_timeout"]), "/bin/sh", "-c", cmd],
                                          environ_update=env, cwd="/")
        if rc != 0:
            raise RuntimeError(f"verify command exited {rc}: {(err or out).strip()[-300:] or 'no output'}")

    def try_version(self, version):
        """Restart on `version` and prove it: ready, /startupz version, the operator's check."""
        self.svc.systemctl("reset-failed", self.p["unit"], check=False)
        self.svc.systemctl("restart", self.p["unit"])
        self.svc.gate(self.p["ready_timeout"], expect_version=version)
        self.run_verify_command(version)

    def way_back(self, version, good_state, aside, reason, poller):
        """Stop, put `good_state` in place (the replaced one goes to `aside`), switch to `version`, start, gate."""
        back = []
        self.svc.systemctl("stop", self.p["unit"], check=False)
        try:
            self.swap_state(good_state, aside)
            self.result["aside"] = aside
            back.append("previous state put back")
        except OSError as exc:
            back.append(f"previous state NOT put back ({exc})")
        self.switch(version)
        back.append(f"switched back to {version}")
        self.svc.systemctl("reset-failed", self.p["unit"], check=False)
        try:
            self.svc.systemctl("start", self.p["unit"])
            self.svc.gate(max(self.p["ready_timeout"], 120), expect_version=version)
            back.append("ready again")
        except RuntimeError as exc:
            back.append(f"but NOT ready: {exc}")
        self.result.update(rolled_back=True, reason=reason, downtime_seconds=poller.finish(),
                           failed_probes=poller.failed_probes)
        return ", ".join(back)

    # --- actions -------------------------------------------------------------------------------------------
    def upgrade(self):
        p, target = self.p, self.p["version"]
        current = self.current_version()
        self.result.update(from_version=current, to_version=target)
        if current == target:
            self.result.update(current_version=current, duration=round(time.monotonic() - self.started, 2),
                               msg=f"openclaw {target} is already the running version; nothing to do")
            self.m.exit_json(**self.result)
        if current is None:
            self.fail(f"No openclaw install found at {self.current_link}: deploy the gateway first (deploy.yml).")
        plan = dict(install=not self.is_installed(target), prune=self.prune_plan({current, target}))
        self.result.update(changed=True, plan=plan)
        if self.m.check_mode or p["action"] == "plan":
            self.result.update(current_version=current, duration=round(time.monotonic() - self.started, 2),
                               msg=f"would upgrade {current} -> {target}")
            self.m.exit_json(**self.result)
        if not p["backup_archive"] or not os.path.isfile(p["backup_archive"]):
            self.fail(f"backup_archive {p['backup_archive']!r} is missing: a pre-upgrade backup is required (the state "
                      "migration is one-way; without it there is no way back). Nothing was changed.", changed=False)
        self.svc.gate(30, expect_version=current)  # a healthy baseline; raises before anything changed
        if plan["install"]:
            self.install(target)
        rollback_state = self.prepare_state(p["backup_archive"], "rollback")
        if p["rehearse"]:
            try:
                self.rehearse(target, rollback_state)
            except RuntimeError as exc:
                shutil.rmtree(rollback_state, ignore_errors=True)
                self.fail(f"Upgrade {current} -> {target} refused before the switch: {exc}. The running gateway "
                          f"({current}) was not touched.", refused=True, reason=str(exc))
        self.write_record(status="upgrading", from_version=current, to_version=target,
                          backup_archive=p["backup_archive"], started=self.stamp)
        poller = ReadinessPoller(self.m, p["port"])
        poller.start()
        self.switch(target)
        try:
            self.try_version(target)
        except Exception as exc:  # anything after the switch: back to the previous package and pre-upgrade state
            reason = str(exc)
            back = self.way_back(current, rollback_state, f"{self.state}.failed-upgrade-{self.stamp}", reason, poller)
            self.write_record(status="rolled_back", from_version=current, to_version=target,
                              backup_archive=p["backup_archive"], started=self.stamp, reason=reason)
            self.fail(f"Upgrade {current} -> {target} failed: {reason}. Rolled back: {back}.")
        self.result.update(downtime_seconds=poller.finish(), failed_probes=poller.failed_probes)
        shutil.rmtree(rollback_state, ignore_errors=True)
        self.write_record(status="upgraded", from_version=current, to_version=target,
                          backup_archive=p["backup_archive"], started=self.stamp)
        for name in plan["prune"]:
            shutil.rmtree(os.path.join(self.versions, name), ignore_errors=True)
        self.prune_compile_cache(plan["prune"])
        self.prune_asides()
        self.result.update(pruned=plan["prune"], current_version=target,
                           duration=round(time.monotonic() - self.started, 2),
                           msg=f"upgraded {current} -> {target}")
        self.m.exit_json(**self.result)

    def rollback(self):
        p = self.p
        rec = self.read_record()
        current = self.current_version()
        if not rec or rec.get("status") != "upgraded":
            self.fail(f"No completed upgrade is recorded in {self.record_path} "
                      f"({'status ' + rec.get('status', '?') if rec else 'no record'}); nothing to roll back.")
        prev, archive = rec["from_version"], rec["backup_archive"]
        self.result.update(from_version=current, to_version=prev)
        if current != rec["to_version"]:
            self.fail(f"The last upgrade went to {rec['to_version']} but {current} is running now; refusing to roll back "
                      "over a change this module did not make.")
        if not self.is_installed(prev):
            self.fail(f"openclaw {prev} is no longer installed under {self.versions} (pruned?); reinstall it first.")
        if not os.path.isfile(archive):
            self.fail(f"The pre-upgrade archive {archive} is gone; cannot bring back the pre-upgrade state.")
        self.result["changed"] = True
        if self.m.check_mode:
            self.result.update(current_version=current, msg=f"would roll back {current} -> {prev} with {archive}")
            self.m.exit_json(**self.result)
        staging = self.prepare_state(archive, "rollback")
        aside = f"{self.state}.rolled-back-from-{current}-{self.stamp}"
        poller = ReadinessPoller(self.m, p["port"])
        poller.start()
        self.svc.systemctl("stop", p["unit"])
        self.swap_state(staging, aside)
        self.switch(prev)
        try:
            self.svc.systemctl("reset-failed", p["unit"], check=False)
            self.svc.systemctl("start", p["unit"])
            self.svc.gate(p["ready_timeout"], expect_version=prev)
        except Exception as exc:  # the previous version would not come up: put the upgraded one back
            back_staging = f"{self.state}.rollback-failed-{self.stamp}"
            os.rename(aside, back_staging)
            back = self.way_back(current, back_staging, f"{self.state}.rollback-failed-state-{self.stamp}", str(exc),
                                 poller)
            self.fail(f"Rollback to {prev} failed: {exc}. Restored the upgraded {current}: {back}.")
        self.result.update(rolled_back=True, downtime_seconds=poller.finish(), failed_probes=poller.failed_probes,
                           aside=aside, current_version=prev, duration=round(time.monotonic() - self.started, 2),
                           msg=f"rolled back {current} -> {prev} with the pre-upgrade state from {archive}")
        self.prune_asides()
        self.write_record(status="rolled_back_by_operator", from_version=current, to_version=prev,
                          backup_archive=archive, started=self.stamp)
        self.m.exit_json(**self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", choices=["upgrade", "rollback", "plan"], default="upgrade"),
            version=dict(type="str"),
            backup_archive=dict(type="path"),
            install_root=dict(type="path", default="/opt/openclaw"),
            node_bin_dir=dict(type="path", required=True),
            npm_registry=dict(type="str", default="https://registry.npmjs.org/"),
            npm_cache_dir=dict(type="path", default="/var/cache/openclaw/npm"),
            ca_bundle=dict(type="path", default="/etc/ssl/certs/ca-certificates.crt"),
            state_dir=dict(type="path", required=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            unit=dict(type="str", default="openclaw-gateway.service"),
            scope=dict(type="str", choices=["system", "user"], default="system"),
            user=dict(type="str"),
            port=dict(type="int", default=18789),
            ready_timeout=dict(type="int", default=120),
            verify_command=dict(type="str"),
            verify_timeout=dict(type="int", default=120),
            keep_versions=dict(type="int", default=3),
            min_free_mb=dict(type="int", default=1024),
            rehearse=dict(type="bool", default=True),
            record_dir=dict(type="path", default="/var/lib/openclaw-ops/upgrade"),
        ),
        required_if=[("action", "upgrade", ["version"]), ("action", "plan", ["version"]), ("scope", "user", ["user"])],
        supports_check_mode=True,
    )
    v = module.params["version"]
    if v is not None and not VERSION_RE.match(v):
        module.fail_json(msg=f"version {v!r} is not an exact openclaw version like 2026.9.6 (no ranges or tags: a fleet "
                             "must land on one known version).")
    if module.params["keep_versions"] < 2:
        module.fail_json(msg="keep_versions must be at least 2 (the running version and the one to roll back to).")
    up = Upgrader(module)
    try:
        if module.params["action"] == "rollback":
            up.rollback()
        else:
            up.upgrade()
    except RuntimeError as exc:  # before the switch: nothing was changed on the running gateway
        up.fail(f"Upgrade preflight failed, nothing was switched: {exc}")


if __name__ == "__main__":
    main()
