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
    description: The gateway's state directory (OPENCLAW_STATE_DIR). Required; not given, O(gateway.state_dir).
  installed_version:
    description: Version of the installed openclaw; newer archives are refused. Required; not given,
      O(gateway.version).
    type: str
  container:
    description:
      - Container of a compose gateway, stopped and started with O(engine) around the swap instead of O(unit); its
        readiness gate goes through the published O(port).
      - The restored state is then proven by the container's start and readiness alone; the config validation, the
        doctor run and the gateway's own verify of its C(openclaw backup create) format are skipped (the project
        mounts the config from outside the state, and the host has no gateway CLI).
      - Not given, O(gateway.container).
    type: str
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
    details: Verifies the archive and reports what would be restored without stopping anything.
  diff_mode:
    support: none
    details: The state directory is replaced as a whole from the archive; no diff (check mode says what would be restored).
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.service
  - openclaw.port
  - openclaw.ready
  - openclaw.cli
  - openclaw.state_dir
  - openclaw.gateway
  - openclaw.engine
  - openclaw.owner
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

from ansible.module_utils.openclaw_errors import finish
from ansible.module_utils.openclaw_restore_flow import Restorer
from ansible.module_utils.openclaw_spec import USER_SCOPE_NEEDS_USER, context_module, spec

# the options the gateway context fills (module_utils/openclaw_spec.py)
CONTEXT = ("unit", "scope", "user", "port", "cli", "node_bin_dir", "config_path", "state_dir", "owner", "group",
           "installed_version", "container", "engine")


def main():
    module = context_module(
        spec(
            "service", "port", "ready", "cli", "state_dir", "owner", "engine",
            archive=dict(type="path", required=True),
            state_dir=dict(type="path", required=True),
            installed_version=dict(type="str", required=True),
            verify_only=dict(type="bool", default=False),
            extract_to=dict(type="path"),
            doctor=dict(type="bool", default=True),
            container=dict(type="str"),
        ),
        CONTEXT,
        context_required_if=[USER_SCOPE_NEEDS_USER],
    )
    finish(module, lambda: Restorer(module).run())


if __name__ == "__main__":
    main()
