"""Upgrading (or rolling back) the gateway with a way back to the previous package and state (target side).

The workflow of the openclaw_upgrade module: the target version is installed side by side while the old one serves,
the pre-upgrade archive is verified and unpacked ready to swap in, the target is rehearsed on a copy of that state on a
spare loopback port, then `current` is switched, the unit restarted and gated (Service.gate) while a 10 Hz poller
measures the downtime; any failure after the switch puts the previous package and state back. The last upgrade is
recorded for an operator's rollback. Failures raise ModuleFailure.
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

from ansible.module_utils.openclaw_archive import ArchiveError, clear_stale_owner_lease, extract_payload, verify
from ansible.module_utils.openclaw_errors import ModuleFailure
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
        """Raise ModuleFailure with the result so far (duration, the version `current` points at now)."""
        if self.result.get("changed"):
            self.prune_asides()
        self.result.update(extra, duration=round(time.monotonic() - self.started, 2),
                           current_version=self.current_version())
        raise ModuleFailure(msg, **self.result)

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
            port = free_loopback_port()
            env = self.rehearsal_env(rdir, staging, port)
            proc = self.start_rehearsal(version, rdir, env, port)
            self.wait_rehearsal(version, rdir, proc, port)
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

    def rehearsal_env(self, rdir, staging, port):
        """A copy of the pre-upgrade state in `rdir`, and the unit's environment pointed at it: own port, loopback only,
        own log file (nothing of the rehearsal reaches the live log), the gateway's outward switches off."""
        state = os.path.join(rdir, "state")
        shutil.copytree(staging, state, symlinks=True)
        for scratch in ("tmp", "cache"):  # the gateway's lock files live in tmp/: never a copy of the live one
            shutil.rmtree(os.path.join(state, scratch), ignore_errors=True)
        env = self.svc.environment()
        log = os.path.join(rdir, "gateway.log")
        config = env.get("OPENCLAW_CONFIG_PATH")
        if config and os.path.isfile(config):
            try:
                with open(config) as fh:
                    cfg = json.load(fh)
                cfg.setdefault("gateway", {}).update(port=port, bind="loopback")
                cfg.setdefault("logging", {})["file"] = log
                config = os.path.join(rdir, "openclaw.json")
                with open(config, "w") as fh:
                    json.dump(cfg, fh)
            except ValueError:  # JSON5 written by hand: keep it, --port still moves the listener
                pass
        env.update(REHEARSAL_ENV, OPENCLAW_STATE_DIR=state,
                   HOME=env.get("HOME", pwd.getpwnam(self.p["owner"]).pw_dir))
        if config:
            env["OPENCLAW_CONFIG_PATH"] = config
        env.setdefault("PATH", f"{self.p['node_bin_dir']}:/usr/local/bin:/usr/bin:/bin")
        if "NODE_COMPILE_CACHE" not in env:  # a unit rendered before the compile cache: nothing to warm, do not litter /tmp
            env["NODE_DISABLE_COMPILE_CACHE"] = "1"
        chown_tree(rdir, self.p["owner"], self.p["group"])
        return env

    def start_rehearsal(self, version, rdir, env, port):
        """`openclaw gateway run` of `version` as the service owner, in its own session, output to rdir/stdout.log."""
        user = pwd.getpwnam(self.p["owner"])
        cli = os.path.join(self.versions, version, "node_modules", ".bin", "openclaw")

        def as_owner():
            os.setgid(user.pw_gid)
            os.initgroups(user.pw_name, user.pw_gid)
            os.setuid(user.pw_uid)
            # dies with this module (SIGTERM, forwarded to its gateway child): no orphan if the task is killed.
            # After setuid: a credential change clears the parent-death signal.
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

        with open(os.path.join(rdir, "stdout.log"), "wb") as out:
            return subprocess.Popen([cli, "gateway", "run", "--port", str(port)], env=env, cwd=rdir, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=as_owner,
                                    start_new_session=True)

    def wait_rehearsal(self, version, rdir, proc, port):
        """Ready on `version`, or RuntimeError as soon as the process exits or the timeout passes."""
        deadline = time.monotonic() + max(self.p["ready_timeout"], 120)
        while True:
            summary = wait_for(self.m, "127.0.0.1", port, 2.0, 2.0, 0.2, expect_version=version)
            if not summary["problems"]:
                return
            if proc.poll() is not None or time.monotonic() >= deadline:
                tail = [line for line in tail_file(os.path.join(rdir, "stdout.log"), 6) if line.strip()]
                why = (f"exit status {proc.returncode}" if proc.returncode is not None else
                       "not ready within the timeout: " + "; ".join(summary["problems"]))
                raise RuntimeError(f"rehearsal start of openclaw {version} on a copy of this host's state failed "
                                   f"({why}){': ' + ' | '.join(tail)[-600:] if tail else ''}")

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
            return self.result
        if current is None:
            self.fail(f"No openclaw install found at {self.current_link}: deploy the gateway first (deploy.yml).")
        plan = dict(install=not self.is_installed(target), prune=self.prune_plan({current, target}))
        self.result.update(changed=True, plan=plan)
        if self.m.check_mode or p["action"] == "plan":
            self.result.update(current_version=current, duration=round(time.monotonic() - self.started, 2),
                               msg=f"would upgrade {current} -> {target}")
            return self.result
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
        return self.result

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
            return self.result
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
        return self.result

    def run(self):
        """The module's result for its action; raises ModuleFailure."""
        try:
            return self.rollback() if self.p["action"] == "rollback" else self.upgrade()
        except RuntimeError as exc:  # before the switch: nothing was changed on the running gateway
            self.fail(f"Upgrade preflight failed, nothing was switched: {exc}")


def check_params(p):
    """What the argument spec cannot say; raises ModuleFailure."""
    v = p["version"]
    if v is not None and not VERSION_RE.match(v):
        raise ModuleFailure(f"version {v!r} is not an exact openclaw version like 2026.9.6 (no ranges or tags: a fleet "
                            "must land on one known version).")
    if p["keep_versions"] < 2:
        raise ModuleFailure("keep_versions must be at least 2 (the running version and the one to roll back to).")
