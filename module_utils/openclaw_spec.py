"""Argument specs the openclaw modules share, written once (stdlib only; runs on the target).

Each name is the spec of the documentation fragment of the same name in doc_fragments/openclaw.py (the docs are
written once there): a module builds its spec with `spec("service", "port", ..., **its_own_options)`, where an option
of its own with a shared name replaces the shared one (a `required`, as the module's documentation says).
"""

import copy

GATEWAY_PORT = 18789

SHARED = dict(
    service=dict(
        unit=dict(type="str", default="openclaw-gateway.service"),
        scope=dict(type="str", choices=["system", "user"], default="system"),
        user=dict(type="str"),
    ),
    port=dict(port=dict(type="int", default=GATEWAY_PORT)),
    ready=dict(ready_timeout=dict(type="int", default=120)),
    cli=dict(
        cli=dict(type="path", default="/opt/openclaw/current/node_modules/.bin/openclaw"),
        node_bin_dir=dict(type="path"),
        config_path=dict(type="path"),
    ),
    state_dir=dict(state_dir=dict(type="path")),
    owner=dict(owner=dict(type="str", required=True), group=dict(type="str", required=True)),
    marker=dict(marker_dir=dict(type="path", default="/var/lib/openclaw-ops/markers")),
    token_file=dict(token_file=dict(type="path")),
)

# the rule that goes with the `service` options: a user unit needs its user
USER_SCOPE_NEEDS_USER = ("scope", "user", ["user"])


def spec(*shared, **own):
    """The argument spec of the named shared groups (a copy), with the module's `own` options added or replacing."""
    out = {}
    for name in shared:
        out.update(copy.deepcopy(SHARED[name]))
    out.update(own)
    return out
