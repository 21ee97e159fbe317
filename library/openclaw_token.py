#!/usr/bin/python
"""Ansible module: rotate the gateway token without a restart, prove it, and never lock the operator out."""

DOCUMENTATION = r"""
---
module: openclaw_token
short_description: Rotate the OpenClaw gateway token with no restart and no lockout
description:
  - Generates a strong token on the host (or takes O(token)), writes it atomically (0600, service owner) where the gateway
    reads it, and makes the running gateway take it without a restart. With O(source=file) (the toolkit's file
    SecretRef) that is C(openclaw secrets reload), authenticated with the B(old) token through the environment (never the
    command line); with O(source=config) (a literal C(gateway.auth.token) in C(openclaw.json)) the gateway hot-reloads
    the edited file by itself.
  - Then proves it through the gateway's authenticated HTTP endpoint (a bearer-token C(POST /tools/invoke) of a tool that
    does not exist, which runs nothing) that the new token is accepted and the old one rejected. If the new token is not
    accepted in time, the old one is written back and proven to work again (no lockout), and the module fails saying so.
  - The token never appears in the module's output unless O(return_token) is set (then run the task with C(no_log)).
  - Writes the C(token_rotated) marker that the metrics collector exports as
    C(openclaw_token_last_rotated_timestamp_seconds).
version_added: "0.2.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  config_path:
    description: The gateway's C(openclaw.json) (always needed; for O(source=config) it holds the token). Required; not
      given, O(gateway.config_path).
  source:
    description: Where the gateway's token lives.
    type: str
    choices: [file, config]
    default: file
  token:
    description: The new token (at least 32 characters); generated on the host when omitted.
    type: str
  accept_timeout:
    description: Seconds to wait for the gateway to accept the new token.
    type: int
    default: 20
  return_token:
    description: Return the new token as C(token) (for a vault update or a 0600 controller file). Use C(no_log) on the task.
    type: bool
    default: false
  container:
    description:
      - Container of a compose gateway. Its token file is a compose secret bind-mounted into the container, so the new
        token is written into the file in place (a rename would leave the mount on the old file), and
        C(openclaw secrets reload) runs inside the container with C(<engine> exec), the old token on its standard input.
        The proof goes through the published O(port).
      - Not given, O(gateway.container).
    type: str
attributes:
  check_mode:
    support: full
    details: Checks the current token is accepted and reports that a rotation would happen; writes nothing.
  diff_mode:
    support: none
    details: No diff is returned, as the old and the new token are secrets.
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.port
  - openclaw.cli
  - openclaw.state_dir
  - openclaw.owner
  - openclaw.marker
  - openclaw.gateway
  - openclaw.engine
  - openclaw.token_file
"""

EXAMPLES = r"""
- name: Rotate the gateway token
  openclaw_token:
    token_file: /etc/openclaw/gateway.token
    config_path: /var/lib/openclaw/.openclaw/openclaw.json
    state_dir: /var/lib/openclaw/.openclaw
    owner: openclaw
    group: openclaw
    node_bin_dir: /opt/openclaw/node/v24.21.0/bin
    return_token: true
  register: rotation
  no_log: true
"""

RETURN = r"""
token:
  description: The new token (only with O(return_token)).
  returned: when return_token and changed
  type: str
  sample: "(secret)"
old_rejected:
  description: The old token is rejected after the rotation.
  returned: changed
  type: bool
  sample: true
new_accepted:
  description: The new token is accepted after the rotation.
  returned: changed
  type: bool
  sample: true
restart:
  description: Whether the gateway was restarted (never, the rotation is live).
  returned: always
  type: bool
  sample: false
seconds:
  description: Time from writing the new token to the proof that it is accepted.
  returned: changed
  type: float
  sample: 2.4
"""

from ansible.module_utils.openclaw_errors import finish
from ansible.module_utils.openclaw_spec import context_module, spec
from ansible.module_utils.openclaw_token_rotation import Rotator

# the options the gateway context fills (module_utils/openclaw_spec.py)
CONTEXT = ("port", "cli", "node_bin_dir", "config_path", "state_dir", "owner", "group", "token_file", "container",
           "engine")


def main():
    module = context_module(
        spec(
            "port", "cli", "state_dir", "owner", "marker", "token_file", "engine",
            config_path=dict(type="path", required=True),
            source=dict(type="str", choices=["file", "config"], default="file"),
            token=dict(type="str", no_log=True),
            accept_timeout=dict(type="int", default=20),
            return_token=dict(type="bool", default=False),
            container=dict(type="str"),
        ),
        CONTEXT,
        context_required_if=[("source", "file", ["token_file"])],
    )
    finish(module, lambda: Rotator(module).rotate())


if __name__ == "__main__":
    main()
