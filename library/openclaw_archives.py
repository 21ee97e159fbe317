#!/usr/bin/python
"""Ansible module: the backup archives of a host, with their set, time, size and encryption."""

DOCUMENTATION = r"""
---
module: openclaw_archives
short_description: List the backup archives in a directory with their backup set, UTC time, size and encryption
description:
  - Lists the archives (C(*.tar.gz), C(*.tar.gz.age)) in O(dir), newest first, reading only names and file metadata;
    no archive is opened, so encrypted ones are listed too.
  - The backup set and the time come from the name C(<prefix>-<host>-<UTC time>.tar.gz) that C(openclaw_backup) writes
    (prefix C(openclaw-<set>) for the backup sets in O(sets), C(openclaw-predoctor) and C(openclaw-preupgrade-<version>)
    for the archives C(doctor.yml) and the upgrade take). A name without a time (an archive copied in under another
    name) gets the file's modification time, and says so in C(taken_from).
  - An archive is encrypted when its name ends in C(.age), as C(openclaw_backup) names the archives it encrypts.
version_added: "0.3.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  dir:
    description: The backup directory (C(openclaw_backup_dir)). A missing directory lists nothing.
    type: path
    required: true
  sets:
    description: Names of the backup sets (C(openclaw_backup_sets)), to tell the set from the host in a name.
    type: list
    elements: str
    default: [backup, config, credentials, agents]
attributes:
  check_mode:
    support: full
    details: Reads names and file metadata only, the same in check mode.
  diff_mode:
    support: none
    details: Lists archives and changes nothing, so there is no diff.
extends_documentation_fragment:
  - openclaw.attributes
"""

EXAMPLES = r"""
- name: List the host's archives
  openclaw_archives:
    dir: /var/backups/openclaw
  register: listed
"""

RETURN = r"""
archives:
  description: The archives, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: File name.
      type: str
      sample: openclaw-backup-gw1-20261129T033012Z.tar.gz
    path:
      description: Full path.
      type: str
      sample: /var/backups/openclaw/openclaw-backup-gw1-20261129T033012Z.tar.gz
    backup_set:
      description: Backup set (empty when the name does not say).
      type: str
      sample: backup
    host:
      description: Host name in the archive's name.
      type: str
      sample: gw1
    taken:
      description: When it was taken, UTC, ISO 8601.
      type: str
      sample: "2026-11-29T03:30:12Z"
    taken_epoch:
      description: The same in seconds since the epoch.
      type: int
      sample: 1795923012
    taken_from:
      description: C(name), or C(mtime) for a name without a time.
      type: str
      sample: name
    size:
      description: Size in bytes.
      type: int
      sample: 48213
    encrypted:
      description: Encrypted with age (the name ends in C(.age)).
      type: bool
      sample: false
dir:
  description: The directory listed.
  returned: always
  type: str
  sample: /var/backups/openclaw
dir_exists:
  description: O(dir) exists.
  returned: always
  type: bool
  sample: true
"""

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_archive import list_archives


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            sets=dict(type="list", elements="str", default=["backup", "config", "credentials", "agents"]),
        ),
        supports_check_mode=True,
    )
    directory = module.params["dir"]
    result = dict(changed=False, archives=[], dir=directory, dir_exists=os.path.isdir(directory))
    try:
        if result["dir_exists"]:
            result["archives"] = list_archives(directory, module.params["sets"], socket.gethostname())
    except OSError as exc:
        module.fail_json(msg=f"Cannot list {directory}: {exc}.", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
