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
    description: The gateway's log file (C(logging.file)); its rotated files C(<path>-*) are read too. Required; not
      given, O(gateway.log_file).
    type: path
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
attributes:
  check_mode:
    support: full
    details: Reads the log and the token file only, the same in check mode.
  diff_mode:
    support: none
    details: Reads only, so there is no diff.
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.token_file
  - openclaw.gateway
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

from ansible.module_utils.openclaw_errors import finish
from ansible.module_utils.openclaw_log_reader import read_logs
from ansible.module_utils.openclaw_spec import context_module

# the options the gateway context fills (module_utils/openclaw_spec.py)
CONTEXT = ("path", "token_file")


def main():
    module = context_module(
        dict(
            path=dict(type="path", required=True),
            lines=dict(type="int", default=200),
            level=dict(type="str", choices=["trace", "debug", "info", "warn", "error", "fatal"]),
            pattern=dict(type="str"),
            since=dict(type="str"),
            token_file=dict(type="path"),
        ),
        CONTEXT,
    )
    finish(module, lambda: read_logs(module.params))


if __name__ == "__main__":
    main()
