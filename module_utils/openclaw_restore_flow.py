"""Restoring a gateway's state from an archive, with an automatic way back (stdlib + Ansible module_utils; target side).

The workflow of the openclaw_restore module: the archive is verified completely (openclaw_archive) before the running
gateway is touched; the state is unpacked beside the live one, swapped in with renames while the unit is stopped, and
proven by `openclaw config validate`, the readiness gate of the shared Service (fails fast when the unit gives up),
`openclaw doctor --non-interactive` and the gate again. Any failure after the stop puts the previous state back.
Failures raise ModuleFailure.
"""

import os
import pwd
import shutil
import tempfile
import time

from ansible.module_utils.openclaw_archive import ArchiveError, clear_stale_owner_lease, extract_payload, verify, version_tuple
from ansible.module_utils.openclaw_errors import ModuleFailure
from ansible.module_utils.openclaw_gateway_control import chown_tree, gateway_service
from ansible.module_utils.openclaw_host import gateway_env
from ansible.module_utils.openclaw_service import owner_argv


class Restorer:
    """One run of the openclaw_restore module: `run()` returns the result or raises ModuleFailure."""

    def __init__(self, module):
        self.m = module
        self.p = p = module.params
        self.svc = gateway_service(module, p)
        # a compose gateway: its config is not in the state (the project mounts it) and the host has no CLI, so the
        # restored state is proven by the container's start and readiness alone
        self.in_container = bool(p.get("container"))
        self.state = os.path.realpath(p["state_dir"])
        self.result = dict(changed=False, restored=False, rolled_back=False)

    # --- the installed gateway's CLI -----------------------------------------------------------------------------
    def cli_env(self, state_dir=None, config_path=None, home=""):
        default_config = os.path.join(self.p["state_dir"], "openclaw.json")
        return gateway_env(self.p["node_bin_dir"], config_path or self.p["config_path"] or default_config,
                           state_dir or self.p["state_dir"], home)

    def validate_config(self):
        if self.in_container:
            return
        argv = owner_argv(self.m, [self.p["cli"], "config", "validate", "--json"], self.p["owner"])
        rc, out, err = self.m.run_command(argv, environ_update=self.cli_env(), cwd="/")
        if rc != 0:
            raise RuntimeError(f"`openclaw config validate` rejected the restored config: {(out or err).strip()[-300:]}")

    def upstream_verify(self, archive):
        """The installed gateway's own verifier for its own archive format (run in a scratch state, as root, who can
        read the 0600 archive; it only reads the archive)."""
        scratch = tempfile.mkdtemp(prefix="openclaw-restore-cli-")
        try:
            env = self.cli_env(os.path.join(scratch, "state"), os.path.join(scratch, "openclaw.json"), home=scratch)
            rc, out, err = self.m.run_command([self.p["cli"], "backup", "verify", archive, "--json"], environ_update=env,
                                              cwd=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if rc != 0:
            raise ArchiveError(f"`openclaw backup verify` rejects it: {(out or err).strip()[-300:]}")

    def doctor(self):
        """`openclaw doctor --non-interactive` (safe migrations only) on the restored, running gateway; run after the
        start so its health step finds the gateway instead of waiting 60 s for it."""
        if not self.p["doctor"] or self.in_container:
            return
        env = self.cli_env(home=pwd.getpwnam(self.p["owner"]).pw_dir)
        argv = owner_argv(self.m, [self.p["cli"], "doctor", "--non-interactive", "--no-workspace-suggestions"],
                          self.p["owner"])
        rc, out, err = self.m.run_command(["timeout", "300"] + argv, environ_update=env, cwd="/")
        if rc != 0:
            raise RuntimeError(f"`openclaw doctor --non-interactive` failed (rc {rc}): {(err or out).strip()[-300:]}")

    def gate(self, timeout=None):
        """The shared readiness gate (Service.gate): /readyz ready, or the unit's failure as soon as it gives up."""
        try:
            self.svc.gate(timeout or self.p["ready_timeout"])
        except RuntimeError as exc:
            raise RuntimeError(f"restored gateway did not become ready: {exc}") from None

    # --- the workflow ----------------------------------------------------------------------------------------------
    def check_archive(self, scratch):
        """Verify the archive and refuse what cannot be restored here; returns its manifest."""
        p, archive = self.p, self.p["archive"]
        try:
            manifest = verify(archive, scratch)
            self.result.update(files=len(manifest.get("files", [])), archive_version=manifest.get("openclaw_version"),
                               archive_format=manifest["format"])
            if manifest["format"] == "openclaw" and not self.in_container:
                self.upstream_verify(archive)
        except ArchiveError as exc:
            raise ModuleFailure(f"Refusing {archive} before touching the gateway: {exc}.", **self.result) from None
        classes = manifest.get("classes") or ["all"]
        if "all" not in classes and not p["extract_to"] and not p["verify_only"]:
            raise ModuleFailure(f"Refusing {archive}: it holds only part of the state ({', '.join(classes)}) and a "
                                "restore replaces the whole state directory. Restore a full archive, or unpack this one "
                                "with extract_to and copy the files you need.", **self.result)
        taken_by = manifest.get("openclaw_version")
        if taken_by and version_tuple(taken_by) > version_tuple(p["installed_version"]):
            raise ModuleFailure(f"Refusing {archive}: it was taken by openclaw {taken_by}, newer than the installed "
                                f"{p['installed_version']}; its state may be migrated beyond what the installed gateway "
                                "can read (migrations are one-way). Install that version first.", **self.result)
        return manifest

    def unpack(self, manifest, dest):
        extract_payload(self.p["archive"], dest, manifest["payload_prefix"])
        clear_stale_owner_lease(dest)
        chown_tree(dest, self.p["owner"], self.p["group"])

    def run(self):
        p = self.p
        scratch = tempfile.mkdtemp(prefix="openclaw-restore-verify-")
        try:
            manifest = self.check_archive(scratch)
            if p["verify_only"] or self.m.check_mode:
                self.result.update(changed=not p["verify_only"], msg="archive verified")
            elif p["extract_to"]:
                if os.path.exists(p["extract_to"]):
                    raise ModuleFailure(f"extract_to {p['extract_to']} already exists; give a new directory.",
                                        **self.result)
                self.unpack(manifest, p["extract_to"])
                self.result.update(changed=True, msg=f"verified and unpacked into {p['extract_to']}")
            else:
                self.restore(manifest)
            return self.result
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def restore(self, manifest):
        """Unpack beside the state (the only downtime is the swap, the validate and the start), swap, prove."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        staging, safety = f"{self.state}.restore-{stamp}", f"{self.state}.pre-restore-{stamp}"
        self.unpack(manifest, staging)
        try:
            self.svc.stop()
        except RuntimeError as exc:  # still running on its own state: nothing was changed
            shutil.rmtree(staging, ignore_errors=True)
            raise ModuleFailure(f"Restore of {self.p['archive']} stopped before the swap ({exc}); nothing was "
                                "changed.", **self.result) from None
        self.result["changed"] = True
        try:
            if os.path.exists(self.state):
                os.rename(self.state, safety)
                self.result["safety_snapshot"] = safety
            os.rename(staging, self.state)
            self.validate_config()
            self.svc.start()
            self.gate()
            self.doctor()
            self.gate()
        except Exception as exc:  # put the previous state back and start it
            back = self.put_back(safety)
            self.result.update(rolled_back=True, reason=str(exc))
            raise ModuleFailure(f"Restore of {self.p['archive']} failed ({exc}); {back}.", **self.result) from None
        if os.path.exists(safety):
            shutil.rmtree(safety, ignore_errors=True)
            self.result.pop("safety_snapshot", None)
        self.result.update(restored=True, msg="restored and ready")

    def put_back(self, safety):
        """Stop, move the safety snapshot back, start and gate; returns what happened, in words."""
        self.svc.stop(check=False)
        if os.path.exists(safety):
            if os.path.exists(self.state):
                shutil.rmtree(self.state, ignore_errors=True)
            os.rename(safety, self.state)
        back = "previous state put back"
        try:
            self.svc.start()
            # getting the previous state back matters more than a short timeout: give it at least 2 min
            self.gate(max(self.p["ready_timeout"], 120))
            back += " and the gateway is ready again"
        except RuntimeError as exc:
            back += f", but the gateway is not ready: {exc}"
        return back
