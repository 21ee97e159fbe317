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
  token_file:
    description: The secret file (O(source=file)) the gateway's SecretRef reads.
    type: path
  config_path:
    description: The gateway's C(openclaw.json) (always needed; for O(source=config) it holds the token).
    type: path
    required: true
  source:
    description: Where the gateway's token lives.
    type: str
    choices: [file, config]
    default: file
  token:
    description: The new token (at least 32 characters); generated on the host when omitted.
    type: str
  owner:
    description: Owner of the secret (the service account or login user); the reload runs as this user.
    type: str
    required: true
  group:
    description: Group of the secret.
    type: str
    required: true
  port:
    description: Gateway port on loopback.
    type: int
    default: 18789
  cli:
    description: Installed openclaw CLI (for C(secrets reload)).
    type: path
    default: /opt/openclaw/current/node_modules/.bin/openclaw
  node_bin_dir:
    description: Directory of the node binary the CLI runs on.
    type: path
  state_dir:
    description: OPENCLAW_STATE_DIR of the gateway.
    type: path
  accept_timeout:
    description: Seconds to wait for the gateway to accept the new token.
    type: int
    default: 20
  return_token:
    description: Return the new token as C(token) (for a vault update or a 0600 controller file). Use C(no_log) on the task.
    type: bool
    default: false
  marker_dir:
    description: Directory of the C(token_rotated) marker; empty to skip.
    type: path
    default: /var/lib/openclaw-ops/markers
attributes:
  check_mode:
    support: full
    description: Checks the current token is accepted and reports that a rotation would happen; writes nothing.
  diff_mode:
    support: none
    description: No diff is returned, as the old and the new token are secrets.
  platform:
    support: full
    platforms: posix
    description: Runs on the gateway host; tested on Debian 12 with systemd (Ubuntu is accepted but not run here).
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

import json
import os
import pwd
import secrets
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_gateway_control import token_accepted
from ansible.module_utils.openclaw_state import write_marker

MIN_LENGTH = 32


class Rotator:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.result = dict(changed=False, restart=False)

    def read_token(self):
        if self.p["source"] == "file":
            with open(self.p["token_file"]) as fh:
                return fh.read().strip()
        with open(self.p["config_path"]) as fh:
            tok = json.load(fh).get("gateway", {}).get("auth", {}).get("token")
        if not isinstance(tok, str):
            self.m.fail_json(msg=f"gateway.auth.token in {self.p['config_path']} is not a literal token (a SecretRef or "
                                 "env reference?); use source=file for a file SecretRef. Nothing was changed.")
        return tok

    def write_token(self, token):
        """Atomic replace (temp file in the same directory, 0600, owner) so the gateway never reads half a token."""
        if self.p["source"] == "file":
            path, data = self.p["token_file"], token
        else:
            path = self.p["config_path"]
            with open(path) as fh:
                conf = json.load(fh)
            conf["gateway"]["auth"]["token"] = token
            data = json.dumps(conf, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".openclaw-token-")
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        shutil.chown(tmp, self.p["owner"], self.p["group"])
        self.m.atomic_move(tmp, path, unsafe_writes=False)

    def reload(self, auth_token):
        """`openclaw secrets reload` as the owner. The CLI would authenticate with the token its config resolves (the
        file now holds the NEW one), so it gets a config copy without gateway.auth.token and the old token in its
        environment (OPENCLAW_GATEWAY_TOKEN), which only root and the owner can read."""
        if self.p["source"] != "file":
            return
        with open(self.p["config_path"]) as fh:
            conf = json.load(fh)
        conf.get("gateway", {}).get("auth", {}).pop("token", None)
        pw = pwd.getpwnam(self.p["owner"])
        tmpdir = tempfile.mkdtemp(prefix="openclaw-token-")
        try:
            os.chown(tmpdir, pw.pw_uid, pw.pw_gid)
            client = os.path.join(tmpdir, "client.json")
            with open(client, "w") as fh:
                json.dump(conf, fh)
            os.chown(client, pw.pw_uid, pw.pw_gid)
            env = {"OPENCLAW_CONFIG_PATH": client, "OPENCLAW_GATEWAY_TOKEN": auth_token, "HOME": pw.pw_dir}
            if self.p["state_dir"]:
                env["OPENCLAW_STATE_DIR"] = self.p["state_dir"]
            if self.p["node_bin_dir"]:
                env["PATH"] = self.p["node_bin_dir"] + ":/usr/local/bin:/usr/bin:/bin"
            runuser = self.m.get_bin_path("runuser", required=True, opt_dirs=["/usr/sbin", "/sbin"])
            rc, out, err = self.m.run_command([runuser, "-u", self.p["owner"], "--", self.p["cli"], "secrets", "reload",
                                               "--json", "--port", str(self.p["port"])], environ_update=env, cwd="/")
            if rc != 0:
                detail = (out or err).strip()
                raise RuntimeError(f"`openclaw secrets reload` failed: {detail[-300:] or rc}")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def wait_switched(self, new, old, timeout):
        """True once the new token is accepted and the old one rejected (401). The old token is probed only after the
        new one passes: the gateway slows down repeated failed logins (0.25 s, doubling, then no answer), so failed
        probes are kept to about one, and a throttled (unanswered) probe is retried rather than taken as proof."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if token_accepted(self.p["port"], new) and not token_accepted(self.p["port"], old, timeout=3.0):
                    return True
            except RuntimeError:
                pass
            time.sleep(0.5)
        return False

    def rotate(self):
        p = self.p
        if p["source"] == "file" and not p["token_file"]:
            self.m.fail_json(msg="token_file is required with source=file.")
        try:
            old = self.read_token()
        except (OSError, ValueError) as exc:
            self.m.fail_json(msg=f"Cannot read the current token: {exc}. Nothing was changed.")
        new = p["token"] or secrets.token_urlsafe(36)
        if len(new) < MIN_LENGTH:
            self.m.fail_json(msg=f"The new token is {len(new)} characters; at least {MIN_LENGTH} are required.")
        if not p["return_token"]:  # masks it in anything the module might print
            self.m.no_log_values.add(new)
        self.m.no_log_values.add(old)
        if new == old:
            self.m.exit_json(msg="the gateway already uses this token", **self.result)
        try:
            if not token_accepted(p["port"], old):
                self.m.fail_json(msg=f"The gateway on port {p['port']} rejects the current token from "
                                     f"{p['token_file'] or p['config_path']}: it does not use this file, so a rotation "
                                     "could not be proven. Nothing was changed.")
        except RuntimeError as exc:
            self.m.fail_json(msg=f"Cannot reach the gateway to prove a rotation ({exc}); nothing was changed.")
        self.result["changed"] = True
        if self.m.check_mode:
            self.m.exit_json(msg="the token would be rotated", **self.result)

        started = time.monotonic()
        self.write_token(new)
        try:
            self.reload(old)
            if not self.wait_switched(new, old, p["accept_timeout"]):
                raise RuntimeError(f"the gateway did not accept the new token (and reject the old one) within "
                                   f"{p['accept_timeout']} s")
        except RuntimeError as exc:
            self.put_back(old, new, str(exc))
        self.result.update(new_accepted=True, old_rejected=True, seconds=round(time.monotonic() - started, 2))
        if p["marker_dir"]:
            write_marker(self.m, p["marker_dir"], "token_rotated")
        if p["return_token"]:
            self.result["token"] = new
        self.m.exit_json(msg="token rotated without a restart: new accepted, old rejected", **self.result)

    def put_back(self, old, new, reason):
        """No lockout: the old token goes back where the gateway reads it, and is proven to work."""
        self.write_token(old)
        for auth in (new, old):  # whichever the gateway holds now authenticates the reload
            try:
                self.reload(auth)
                break
            except RuntimeError:
                continue
        ok = False
        deadline = time.monotonic() + self.p["accept_timeout"]
        while time.monotonic() < deadline and not ok:
            ok = token_accepted(self.p["port"], old)
            if not ok:
                time.sleep(0.5)
        state = "the old token is back in place and accepted" if ok else \
            "the old token was written back but the gateway does not accept it yet: check it now"
        self.m.fail_json(msg=f"Token rotation failed ({reason}); {state}.", rolled_back=True, **self.result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            token_file=dict(type="path"),
            config_path=dict(type="path", required=True),
            source=dict(type="str", choices=["file", "config"], default="file"),
            token=dict(type="str", no_log=True),
            owner=dict(type="str", required=True),
            group=dict(type="str", required=True),
            port=dict(type="int", default=18789),
            cli=dict(type="path", default="/opt/openclaw/current/node_modules/.bin/openclaw"),
            node_bin_dir=dict(type="path"),
            state_dir=dict(type="path"),
            accept_timeout=dict(type="int", default=20),
            return_token=dict(type="bool", default=False),
            marker_dir=dict(type="path", default="/var/lib/openclaw-ops/markers"),
        ),
        required_if=[("source", "file", ["token_file"])],
        supports_check_mode=True,
    )
    Rotator(module).rotate()


if __name__ == "__main__":
    main()
