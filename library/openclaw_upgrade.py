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
    description: Directory with the C(node) and C(npm) binaries. Required; not given, O(gateway.node_bin_dir).
    type: path
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
    description: The gateway's state directory (OPENCLAW_STATE_DIR). Required; not given, O(gateway.state_dir).
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
    details: Reports the plan (from/to version, install needed, versions to prune) without changing anything.
  diff_mode:
    support: none
    details: No diff is returned; check mode reports the plan instead.
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.service
  - openclaw.port
  - openclaw.ready
  - openclaw.state_dir
  - openclaw.owner
  - openclaw.gateway
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

from ansible.module_utils.openclaw_errors import finish
from ansible.module_utils.openclaw_spec import USER_SCOPE_NEEDS_USER, context_module, spec
from ansible.module_utils.openclaw_upgrade_flow import Upgrader, check_params

# the options the gateway context fills (module_utils/openclaw_spec.py); `version` is the target, not the context's
CONTEXT = ("unit", "scope", "user", "port", "state_dir", "owner", "group", "node_bin_dir")


def main():
    module = context_module(
        spec(
            "service", "port", "ready", "state_dir", "owner",
            action=dict(type="str", choices=["upgrade", "rollback", "plan"], default="upgrade"),
            version=dict(type="str"),
            backup_archive=dict(type="path"),
            install_root=dict(type="path", default="/opt/openclaw"),
            node_bin_dir=dict(type="path", required=True),
            npm_registry=dict(type="str", default="https://registry.npmjs.org/"),
            npm_cache_dir=dict(type="path", default="/var/cache/openclaw/npm"),
            ca_bundle=dict(type="path", default="/etc/ssl/certs/ca-certificates.crt"),
            state_dir=dict(type="path", required=True),
            verify_command=dict(type="str"),
            verify_timeout=dict(type="int", default=120),
            keep_versions=dict(type="int", default=3),
            min_free_mb=dict(type="int", default=1024),
            rehearse=dict(type="bool", default=True),
            record_dir=dict(type="path", default="/var/lib/openclaw-ops/upgrade"),
        ),
        CONTEXT,
        context_required_if=[USER_SCOPE_NEEDS_USER],
        required_if=[("action", "upgrade", ["version"]), ("action", "plan", ["version"])],
    )
    finish(module, lambda: check_params(module.params) or Upgrader(module).run())


if __name__ == "__main__":
    main()
