"""Rotating the gateway token with no restart and no lockout, for the openclaw_token module (target side).

The new token is written atomically where the gateway reads it, the running gateway takes it (`openclaw secrets reload`
authenticated with the old token, or the gateway's own hot reload of openclaw.json), and the authenticated probe proves
the new one accepted and the old one rejected; otherwise the old token goes back and is proven to work. Failures
raise ModuleFailure.
"""

import json
import os
import pwd
import secrets
import shutil
import tempfile
import time

from ansible.module_utils.openclaw_errors import ModuleFailure
from ansible.module_utils.openclaw_gateway_control import token_accepted
from ansible.module_utils.openclaw_host import gateway_env
from ansible.module_utils.openclaw_service import owner_argv
from ansible.module_utils.openclaw_state import write_marker

MIN_LENGTH = 32

# Inside a compose gateway's container: `openclaw secrets reload` authenticated with the old token, read from stdin (not
# the engine's command line, which any host user can list), with a copy of the container's config without
# gateway.auth.token in the container's tmpfs, as the host path does with its client config.
CONTAINER_RELOAD = r"""
set -eu
IFS= read -r OPENCLAW_GATEWAY_TOKEN
export OPENCLAW_GATEWAY_TOKEN
client=$(mktemp /tmp/openclaw-token-client.XXXXXX)
trap 'rm -f "$client"' EXIT
node -e '
const fs = require("fs");
const conf = JSON.parse(fs.readFileSync(process.env.OPENCLAW_CONFIG_PATH, "utf8"));
if (conf.gateway && conf.gateway.auth) delete conf.gateway.auth.token;
fs.writeFileSync(process.argv[1], JSON.stringify(conf));
' "$client"
OPENCLAW_CONFIG_PATH="$client" openclaw secrets reload --json --port "$1"
"""


class Rotator:
    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.result = dict(changed=False, restart=False)
        # a compose gateway: the token file is bind-mounted into its container (a compose secret)
        self.container = self.p.get("container")

    def read_token(self):
        if self.p["source"] == "file":
            with open(self.p["token_file"]) as fh:
                return fh.read().strip()
        with open(self.p["config_path"]) as fh:
            tok = json.load(fh).get("gateway", {}).get("auth", {}).get("token")
        if not isinstance(tok, str):
            raise ModuleFailure(f"gateway.auth.token in {self.p['config_path']} is not a literal token (a SecretRef or "
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
        if self.container:
            # in place: the container's bind mount holds the file's inode, which a rename would leave behind; the
            # gateway reads it only at the reload that follows
            with open(path, "w") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            return
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
        if self.container:
            return self.reload_in_container(auth_token)
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
            env = gateway_env(self.p["node_bin_dir"], client, self.p["state_dir"], pw.pw_dir)
            env["OPENCLAW_GATEWAY_TOKEN"] = auth_token
            argv = owner_argv(self.m, [self.p["cli"], "secrets", "reload", "--json", "--port", str(self.p["port"])],
                              self.p["owner"])
            rc, out, err = self.m.run_command(argv, environ_update=env, cwd="/")
            if rc != 0:
                detail = (out or err).strip()
                raise RuntimeError(f"`openclaw secrets reload` failed: {detail[-300:] or rc}")
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def reload_in_container(self, auth_token):
        """`openclaw secrets reload` inside the compose gateway's container (the host has no gateway CLI)."""
        argv = [self.p["engine"] or "podman", "exec", "-i", self.container, "sh", "-c", CONTAINER_RELOAD, "reload",
                str(self.p["port"])]
        rc, out, err = self.m.run_command(argv, data=auth_token)
        if rc != 0:
            raise RuntimeError(f"`openclaw secrets reload` in {self.container} failed: {(out or err).strip()[-300:] or rc}")

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

    def current(self):
        """The token in use now, proven to be the one the gateway accepts; raises ModuleFailure otherwise."""
        p = self.p
        if p["source"] == "file" and not p["token_file"]:
            raise ModuleFailure("token_file is required with source=file.")
        try:
            old = self.read_token()
        except (OSError, ValueError) as exc:
            raise ModuleFailure(f"Cannot read the current token: {exc}. Nothing was changed.") from None
        self.m.no_log_values.add(old)
        return old

    def prove_current(self, old):
        p = self.p
        try:
            accepted = token_accepted(p["port"], old)
        except RuntimeError as exc:
            raise ModuleFailure(f"Cannot reach the gateway to prove a rotation ({exc}); nothing was changed.") from None
        if not accepted:
            raise ModuleFailure(f"The gateway on port {p['port']} rejects the current token from "
                                f"{p['token_file'] or p['config_path']}: it does not use this file, so a rotation "
                                "could not be proven. Nothing was changed.")

    def rotate(self):
        """The module's result; raises ModuleFailure (after putting the old token back once it was replaced)."""
        p = self.p
        old = self.current()
        new = p["token"] or secrets.token_urlsafe(36)
        if len(new) < MIN_LENGTH:
            raise ModuleFailure(f"The new token is {len(new)} characters; at least {MIN_LENGTH} are required.")
        if not p["return_token"]:  # masks it in anything the module might print
            self.m.no_log_values.add(new)
        if new == old:
            return dict(self.result, msg="the gateway already uses this token")
        self.prove_current(old)
        self.result["changed"] = True
        if self.m.check_mode:
            return dict(self.result, msg="the token would be rotated")

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
        return dict(self.result, msg="token rotated without a restart: new accepted, old rejected")

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
        raise ModuleFailure(f"Token rotation failed ({reason}); {state}.", rolled_back=True, **self.result)
