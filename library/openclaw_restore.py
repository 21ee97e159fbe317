#!/usr/bin/python
"""Ansible module: verified, reversible restore of an OpenClaw state directory."""

DOCUMENTATION = r"""
---
module: openclaw_restore
short_description: Restore an OpenClaw gateway's state from an openclaw_backup archive, with automatic way back
description:
  - Verifies the archive fully before touching the running gateway, then stops it, keeps the current state as a
    safety snapshot, unpacks into a staging directory next to the state directory and swaps it in with renames,
    fixes owners and modes, runs the installed gateway's C(openclaw config validate), starts it, gates on
    readiness, runs C(openclaw doctor --non-interactive) and gates again. If any step after the stop fails, it puts
    the safety snapshot back, starts the previous state and says so.
  - Verification covers the manifest, every member's sha256, SQLite C(integrity_check) of every database, and member
    paths (no absolute paths, C(..), links or special files; extraction uses tarfile's C(data) filter).
  - An archive taken by a newer openclaw than the installed one is refused (the gateway's migrations are one-way).
  - Also accepts archives written by the gateway's own C(openclaw backup create) (C(<root>/payload/posix/<path>) layout,
    no checksums in its manifest). They are checked for safe member paths and SQLite integrity here and by the installed
    gateway's C(openclaw backup verify), then restored the same way. An openclaw-ops archive that holds only some
    classes is refused for a restore (it would replace the whole state with part of it).
version_added: "0.1.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  archive:
    description: Path of the archive on the host.
    type: path
    required: true
  state_dir:
    description: The gateway's state directory (OPENCLAW_STATE_DIR) to replace.
    type: path
    required: true
  owner:
    description: Owner of the restored files (the service account or login user).
    type: str
    required: true
  group:
    description: Group of the restored files.
    type: str
    required: true
  installed_version:
    description: Version of the installed openclaw; newer archives are refused.
    type: str
    required: true
  unit:
    description: systemd unit of the gateway.
    type: str
    default: openclaw-gateway.service
  scope:
    description: System unit, or user unit of O(user).
    type: str
    choices: [system, user]
    default: system
  user:
    description: Login user for O(scope=user).
    type: str
  cli:
    description: Installed openclaw CLI, for C(config validate).
    type: path
    default: /opt/openclaw/current/node_modules/.bin/openclaw
  node_bin_dir:
    description: Directory of the node binary the CLI runs on.
    type: path
  config_path:
    description: OPENCLAW_CONFIG_PATH of the gateway (defaults to C(<state_dir>/openclaw.json)).
    type: path
  port:
    description: Gateway port for the readiness gate.
    type: int
    default: 18789
  ready_timeout:
    description: Seconds the restored gateway has to become ready.
    type: int
    default: 120
  verify_only:
    description: Only verify the archive; change nothing.
    type: bool
    default: false
  extract_to:
    description:
      - Verify, then unpack the archive's state into this new directory (owned by O(owner), modes 0700/0600) and stop
        there; the running gateway and its state are not touched. Used by the restore drill.
    type: path
  doctor:
    description:
      - Run the installed gateway's C(openclaw doctor --non-interactive) (safe migrations only) once the restored gateway
        is ready; a failure puts the previous state back like a failed gate.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Verifies the archive and reports what would be restored without stopping anything.
  diff_mode:
    support: none
    description: The state directory is replaced as a whole from the archive; no diff (check mode says what would be restored).
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
"""

EXAMPLES = r"""
- name: Restore the latest archive
  openclaw_restore:
    archive: /var/backups/openclaw/openclaw-backup-gw1-20261126T080000Z.tar.gz
    state_dir: /var/lib/openclaw/.openclaw
    owner: openclaw
    group: openclaw
    installed_version: "2026.9.6"
"""

RETURN = r"""
restored:
  description: The archive's state is live and the gateway is ready.
  returned: always
  type: bool
  sample: true
rolled_back:
  description: A step after the stop failed and the previous state was put back.
  returned: always
  type: bool
  sample: false
safety_snapshot:
  description: Where the previous state was kept while the restored one was tried (removed once it is ready).
  returned: when a restore failed after the stop
  type: str
  sample: /var/lib/openclaw/.openclaw.pre-restore-20261126T081500Z
files:
  description: Files in the archive.
  returned: always
  type: int
  sample: 14
archive_version:
  description: openclaw version that took the archive.
  returned: always
  type: str
  sample: "2026.9.6"
"""

import os
import pwd
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_archive import ArchiveError, clear_stale_owner_lease, extract_payload, verify, version_tuple
from ansible.module_utils.openclaw_gateway_control import chown_tree
from ansible.module_utils.openclaw_probe import wait_for
from ansible.module_utils.openclaw_service import systemctl_argv


class Restorer:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.ctl = systemctl_argv(self.p["scope"], self.p["user"])

    def systemctl(self, *args):
        rc, out, err = self.m.run_command(self.ctl + list(args))
        if rc != 0:
            raise RuntimeError(f"systemctl {' '.join(args)} failed: {(err or out).strip()}")

    def validate_config(self):
        runuser = self.m.get_bin_path("runuser", required=True, opt_dirs=["/usr/sbin", "/sbin"])
        rc, out, err = self.m.run_command([runuser, "-u", self.p["owner"], "--", self.p["cli"], "config", "validate",
                                           "--json"], environ_update=self.cli_env(), cwd="/")
        if rc != 0:
            raise RuntimeError(f"`openclaw config validate` rejected the restored config: {(out or err).strip()[-300:]}")

    def cli_env(self, state_dir=None, config_path=None):
        default_config = os.path.join(self.p["state_dir"], "openclaw.json")
        env = {"OPENCLAW_STATE_DIR": state_dir or self.p["state_dir"],
               "OPENCLAW_CONFIG_PATH": config_path or self.p["config_path"] or default_config}
        if self.p["node_bin_dir"]:
            env["PATH"] = self.p["node_bin_dir"] + ":/usr/local/bin:/usr/bin:/bin"
        return env

    def upstream_verify(self, archive):
        """The installed gateway's own verifier for its own archive format (run in a scratch state, as root, who can
        read the 0600 archive; it only reads the archive)."""
        scratch = tempfile.mkdtemp(prefix="openclaw-restore-cli-")
        try:
            env = self.cli_env(os.path.join(scratch, "state"), os.path.join(scratch, "openclaw.json"))
            env["HOME"] = scratch
            rc, out, err = self.m.run_command([self.p["cli"], "backup", "verify", archive, "--json"], environ_update=env,
                                              cwd=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if rc != 0:
            raise ArchiveError(f"`openclaw backup verify` rejects it: {(out or err).strip()[-300:]}")

    def doctor(self):
        """`openclaw doctor --non-interactive` (safe migrations only) on the restored, running gateway; run after the
        start so its health step finds the gateway instead of waiting 60 s for it."""
        if not self.p["doctor"]:
            return
        env = self.cli_env()
        env["HOME"] = pwd.getpwnam(self.p["owner"]).pw_dir
        runuser = self.m.get_bin_path("runuser", required=True, opt_dirs=["/usr/sbin", "/sbin"])
        rc, out, err = self.m.run_command(["timeout", "300", runuser, "-u", self.p["owner"], "--", self.p["cli"], "doctor",
                                           "--non-interactive", "--no-workspace-suggestions"], environ_update=env,
                                          cwd="/")
        if rc != 0:
            raise RuntimeError(f"`openclaw doctor --non-interactive` failed (rc {rc}): {(err or out).strip()[-300:]}")

    def gate(self, timeout=None):
        s = wait_for(self.m, "127.0.0.1", self.p["port"], 5.0, timeout or self.p["ready_timeout"], 1.0)
        if s["problems"]:
            raise RuntimeError("restored gateway did not become ready: " + "; ".join(s["problems"]))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            archive=dict(type="path", required=True),
            state_dir=dict(type="path", required=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            installed_version=dict(type="str", required=True),
            unit=dict(type="str", default="openclaw-gateway.service"),
            scope=dict(type="str", choices=["system", "user"], default="system"),
            user=dict(type="str"),
            cli=dict(type="path", default="/opt/openclaw/current/node_modules/.bin/openclaw"),
            node_bin_dir=dict(type="path"),
            config_path=dict(type="path"),
            port=dict(type="int", default=18789),
            ready_timeout=dict(type="int", default=120),
            verify_only=dict(type="bool", default=False),
            extract_to=dict(type="path"),
            doctor=dict(type="bool", default=True),
        ),
        required_if=[("scope", "user", ["user"])],
        supports_check_mode=True,
    )
    p = module.params
    state = os.path.realpath(p["state_dir"])
    result = dict(changed=False, restored=False, rolled_back=False)
    scratch = tempfile.mkdtemp(prefix="openclaw-restore-verify-")
    try:
        try:
            manifest = verify(p["archive"], scratch)
        except ArchiveError as exc:
            module.fail_json(msg=f"Refusing {p['archive']} before touching the gateway: {exc}.", **result)
        result.update(files=len(manifest.get("files", [])), archive_version=manifest.get("openclaw_version"),
                      archive_format=manifest["format"])
        r = Restorer(module)
        if manifest["format"] == "openclaw":
            try:
                r.upstream_verify(p["archive"])
            except ArchiveError as exc:
                module.fail_json(msg=f"Refusing {p['archive']} before touching the gateway: {exc}.", **result)
        classes = manifest.get("classes") or ["all"]
        if "all" not in classes and not p["extract_to"] and not p["verify_only"]:
            module.fail_json(msg=f"Refusing {p['archive']}: it holds only part of the state ({', '.join(classes)}) and a "
                                 "restore replaces the whole state directory. Restore a full archive, or unpack this one "
                                 "with extract_to and copy the files you need.", **result)
        if manifest.get("openclaw_version") and version_tuple(manifest["openclaw_version"]) > version_tuple(
                p["installed_version"]):
            module.fail_json(msg=f"Refusing {p['archive']}: it was taken by openclaw {manifest['openclaw_version']}, newer "
                                 f"than the installed {p['installed_version']}; its state may be migrated beyond what the "
                                 "installed gateway can read (migrations are one-way). Install that version first.", **result)
        if p["verify_only"] or module.check_mode:
            result["changed"] = not p["verify_only"]
            module.exit_json(msg="archive verified", **result)

        if p["extract_to"]:
            if os.path.exists(p["extract_to"]):
                module.fail_json(msg=f"extract_to {p['extract_to']} already exists; give a new directory.", **result)
            extract_payload(p["archive"], p["extract_to"], manifest["payload_prefix"])
            clear_stale_owner_lease(p["extract_to"])
            chown_tree(p["extract_to"], p["owner"], p["group"])
            result["changed"] = True
            module.exit_json(msg=f"verified and unpacked into {p['extract_to']}", **result)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        staging = f"{state}.restore-{stamp}"
        safety = f"{state}.pre-restore-{stamp}"
        # Unpack before stopping: the only downtime is the swap, the validate and the start.
        extract_payload(p["archive"], staging, manifest["payload_prefix"])
        clear_stale_owner_lease(staging)
        chown_tree(staging, p["owner"], p["group"])
        result["changed"] = True
        r.systemctl("stop", p["unit"])
        stopped_state = os.path.exists(state)
        try:
            if stopped_state:
                os.rename(state, safety)
                result["safety_snapshot"] = safety
            os.rename(staging, state)
            r.validate_config()
            r.systemctl("start", p["unit"])
            r.gate()
            r.doctor()
            r.gate()
        except Exception as exc:  # put the previous state back and start it
            reason = str(exc)
            try:
                r.systemctl("stop", p["unit"])
            except RuntimeError:
                pass
            if os.path.exists(safety):
                if os.path.exists(state):
                    shutil.rmtree(state, ignore_errors=True)
                os.rename(safety, state)
            back = "previous state put back"
            try:
                r.systemctl("start", p["unit"])
                # getting the previous state back matters more than a short timeout: give it at least 2 min
                r.gate(max(p["ready_timeout"], 120))
                back += " and the gateway is ready again"
            except RuntimeError as exc2:
                back += f", but the gateway is not ready: {exc2}"
            result.update(rolled_back=True, reason=reason)
            module.fail_json(msg=f"Restore of {p['archive']} failed ({reason}); {back}.", **result)
        if os.path.exists(safety):
            shutil.rmtree(safety, ignore_errors=True)
            result.pop("safety_snapshot", None)
        result["restored"] = True
        module.exit_json(msg="restored and ready", **result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
