#!/usr/bin/python
"""Ansible module: a gateway's log lines, filtered on the host, with secrets masked before they leave it."""

DOCUMENTATION = r"""
---
module: openclaw_logs
short_description: Read an OpenClaw gateway's log lines on the host, filtered, with every secret masked
description:
  - Reads the gateway's log (JSON lines) and its rotated files (C(<path>-*), oldest first, gzip read transparently) and
    returns the last O(lines) lines, optionally only those at or above a level, matching a regular expression or newer
    than a time.
  - Masks secrets on the host, with the rules the support bundle of C(diagnose.yml) uses (C(module_utils/openclaw_redact)),
    before any line leaves it. The gateway token is read here from O(token_file) and replaced wherever it appears, so its
    value never enters Ansible's output; values under JSON keys that name secrets (C(token), C(password), C(apiKey), ...)
    and bearer-token and API-key shapes are masked too.
version_added: "0.3.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  path:
    description: The gateway's log file (C(logging.file)); its rotated files C(<path>-*) are read too.
    type: path
    required: true
  lines:
    description: How many of the last matching lines to return.
    type: int
    default: 200
  level:
    description: Only lines at or above this level (the gateway's C(_meta.logLevelName)).
    type: str
    choices: [trace, debug, info, warn, error, fatal]
  pattern:
    description: Only lines matching this regular expression (Python syntax), matched before masking.
    type: str
  since:
    description: Only lines whose C(_meta.date) is at or after this ISO time, e.g. C(2026-11-26T06:00).
    type: str
  token_file:
    description: The gateway token's file on the host; its value is masked wherever it appears. Empty to skip.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads the log and the token file only, the same in check mode.
  diff_mode:
    support: none
    description: Reads only, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
"""

EXAMPLES = r"""
- name: Last 500 error lines, secrets masked
  openclaw_logs:
    path: /var/log/openclaw/openclaw.log
    lines: 500
    level: error
    token_file: /etc/openclaw/gateway.token
  register: logs
"""

RETURN = r"""
lines:
  description: The selected lines, oldest first, secrets masked.
  returned: always
  type: list
  elements: str
  sample: ['{"0":"gateway ready","_meta":{"logLevelName":"INFO","date":"2026-11-26T06:00:01.000Z"}}']
masked:
  description: How many of the returned lines had something masked.
  returned: always
  type: int
  sample: 1
files:
  description: The files read, oldest first.
  returned: always
  type: list
  elements: str
  sample: [/var/log/openclaw/openclaw.log-20261125.gz, /var/log/openclaw/openclaw.log]
"""

import glob
import gzip
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_redact import read_secrets, redact_line

LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def log_files(path):
    """The files that exist: rotated ones first (dateext names sort by time), then the live file."""
    return [f for f in sorted(glob.glob(path + "-*")) + [path] if os.path.isfile(f)]


def records(files):
    for f in files:
        opener = gzip.open if f.endswith(".gz") else open
        try:
            with opener(f, "rt", errors="replace") as fh:
                for line in fh:
                    yield line.rstrip("\n")
        except OSError:
            continue


def select(lines, count, level=None, pattern=None, since=None):
    """The last `count` lines that pass the level floor, the pattern and the time (lines that are not JSON have no
    level, counted as INFO, and no time, so `since` drops them)."""
    rx = re.compile(pattern) if pattern else None
    floor = LEVELS.index(level.upper()) if level else 0
    out = []
    for line in lines:
        meta = {}
        try:
            meta = json.loads(line).get("_meta", {})
        except (ValueError, AttributeError):
            pass
        if since and str(meta.get("date", "")) < since:
            continue
        name = str(meta.get("logLevelName", "INFO")).upper()
        if floor and (LEVELS.index(name) if name in LEVELS else 0) < floor:
            continue
        if rx and not rx.search(line):
            continue
        out.append(line)
    return out[-count:] if count > 0 else []


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            lines=dict(type="int", default=200),
            level=dict(type="str", choices=["trace", "debug", "info", "warn", "error", "fatal"]),
            pattern=dict(type="str"),
            since=dict(type="str"),
            token_file=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        re.compile(p["pattern"] or "")
    except re.error as exc:
        module.fail_json(msg=f"pattern {p['pattern']!r} is not a regular expression: {exc}.")
    files = log_files(p["path"])
    chosen = select(records(files), p["lines"], p["level"], p["pattern"], p["since"])
    secrets = read_secrets(p["token_file"])
    masked = [redact_line(line, secrets) for line in chosen]
    module.exit_json(changed=False, lines=masked, masked=sum(a != b for a, b in zip(chosen, masked, strict=True)), files=files)


if __name__ == "__main__":
    main()
