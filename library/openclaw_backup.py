#!/usr/bin/python
"""Ansible module: consistent, verified backup of an OpenClaw state directory."""

DOCUMENTATION = r"""
---
module: openclaw_backup
short_description: Take a consistent, verified snapshot of an OpenClaw gateway's state
description:
  - Copies every SQLite database through SQLite's online backup API (never the raw C(.sqlite)/C(-wal)/C(-shm) files,
    which can be torn while the gateway writes in WAL mode) and everything else as files; C(tmp/) and C(cache/) are
    left out.
  - Writes a gzip tar archive with C(manifest.json) (format version, openclaw version, SQLite schema versions, host,
    time, class and sha256 of every file) to a temporary name, re-reads and verifies it, and renames it into place only
    when complete; on any failure (disk full included) the partial file is removed and older archives are untouched.
  - Every file is read once (hashed while it is archived). The tar stream is cut into 4 MiB pieces, each compressed as
    its own gzip member on O(threads) threads; a piece that does not compress (media, already-compressed files) is
    stored. gzip, GNU tar and Python's tarfile read the result as one ordinary C(.tar.gz). The verification is one
    sequential pass over the written file (gzip CRCs, every member's sha256, nothing missing or extra, the manifest).
  - With O(encrypt_recipients), the verified archive is encrypted with the C(age) CLI to those public keys into
    C(<name>.tar.gz.age) and the plaintext is removed; no private key is needed or used on the host. Decrypt on the
    machine that holds the identity (C(age -d -i key.txt)).
  - A lock prevents two backups of the same state directory at once; free space is checked before writing.
  - Writes the success marker that the metrics collector exports as C(openclaw_last_backup_success_timestamp_seconds).
version_added: "0.1.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  state_dir:
    description: The gateway's state directory (OPENCLAW_STATE_DIR). Required; not given, O(gateway.state_dir).
  dest_dir:
    description: Directory the archive is written to (created 0700 if missing).
    type: path
    required: true
  classes:
    description: Which classes to include (C(all), or any of the handbook's classes).
    type: list
    elements: str
    choices: [all, config, credentials, agents, sessions, workspace, other]
    default: [all]
  name_prefix:
    description: Archive file name prefix; the name is C(<prefix>-<host>-<UTC time>.tar.gz).
    type: str
    default: openclaw-backup
  openclaw_version:
    description: Version of the openclaw that owns the state, recorded in the manifest (restore refuses older installs).
      Not given, O(gateway.version).
    type: str
  min_free_mb:
    description: Free space that must remain in O(dest_dir) beyond the estimated archive size.
    type: int
    default: 256
  lock_timeout:
    description: Seconds to wait for another backup of the same state directory to finish.
    type: int
    default: 0
  owner:
    description: Owner of the archive.
    type: str
  compresslevel:
    description:
      - gzip level (0 store .. 1 fast .. 9 small). Pieces that do not compress are stored whatever the level.
      - Level 6 costs about 4x the time of level 1 for about 15% less archive on text.
    type: int
    default: 1
  threads:
    description: Compression threads (each piece of the tar stream is compressed independently). 1 keeps a backup
      on one core.
    type: int
    default: 2
  encrypt_recipients:
    description:
      - age public keys (C(age1...), or C(ssh-ed25519 ...)/C(ssh-rsa ...) public keys) to encrypt the archive to.
        Empty for no encryption. Needs the C(age) CLI on the host (Debian package C(age)); the module fails before
        writing anything if it is missing or a key is refused.
      - The plaintext archive exists only as the C(.partial) file (mode 0600) until it is verified and encrypted.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reports what would be backed up (files, bytes) without writing anything.
  diff_mode:
    support: none
    details: Writes a new archive and changes no existing file; no diff is returned.
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.state_dir
  - openclaw.marker
  - openclaw.gateway
"""

EXAMPLES = r"""
- name: Back up the gateway state
  openclaw_backup:
    state_dir: /var/lib/openclaw/.openclaw
    dest_dir: /var/backups/openclaw
    openclaw_version: "2026.9.6"
  register: backup

- name: Back up, encrypted to the operators' age keys (decrypt on the controller)
  openclaw_backup:
    state_dir: /var/lib/openclaw/.openclaw
    dest_dir: /var/backups/openclaw
    openclaw_version: "2026.9.6"
    encrypt_recipients:
      - age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
"""

RETURN = r"""
path:
  description: Path of the verified archive.
  returned: changed
  type: str
  sample: /var/backups/openclaw/openclaw-backup-gw1-20261126T080000Z.tar.gz
encrypted:
  description: The archive at RV(path) is encrypted with age (its name ends in C(.tar.gz.age)).
  returned: always
  type: bool
  sample: false
size:
  description: Archive size in bytes.
  returned: changed
  type: int
  sample: 48213
sha256:
  description: sha256 of the file at RV(path) (the encrypted file when encrypted).
  returned: changed
  type: str
  sample: 9f2c...
duration:
  description: Seconds the backup took.
  returned: changed
  type: float
  sample: 1.9
files:
  description: Files in the archive (databases included).
  returned: always
  type: int
  sample: 14
databases:
  description: SQLite databases copied through the backup API, with their schema version.
  returned: always
  type: dict
  sample: {"state/openclaw.sqlite": 18}
bytes:
  description: Bytes of state captured (before compression).
  returned: always
  type: int
  sample: 1048576
"""

from ansible.module_utils.openclaw_backup_flow import Backup
from ansible.module_utils.openclaw_errors import finish
from ansible.module_utils.openclaw_spec import context_module, spec

# the options the gateway context fills (module_utils/openclaw_spec.py)
CONTEXT = ("state_dir", "openclaw_version")
CLASSES = ["all", "config", "credentials", "agents", "sessions", "workspace", "other"]


def main():
    module = context_module(
        spec(
            "state_dir", "marker",
            state_dir=dict(type="path", required=True),
            dest_dir=dict(type="path", required=True),
            classes=dict(type="list", elements="str", default=["all"], choices=CLASSES),
            name_prefix=dict(type="str", default="openclaw-backup"),
            openclaw_version=dict(type="str"),
            min_free_mb=dict(type="int", default=256),
            lock_timeout=dict(type="int", default=0),
            owner=dict(type="str"),
            compresslevel=dict(type="int", default=1),
            threads=dict(type="int", default=2),
            encrypt_recipients=dict(type="list", elements="str", default=[]),
        ),
        CONTEXT,
    )
    finish(module, lambda: Backup(module).run())


if __name__ == "__main__":
    main()
