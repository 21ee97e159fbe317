"""Argument specs the openclaw modules share, written once (stdlib only; runs on the target).

Each name is the spec of the documentation fragment of the same name in doc_fragments/openclaw.py (the docs are
written once there): a module builds its spec with `spec("service", "port", ..., **its_own_options)`, where an option
of its own with a shared name replaces the shared one (a `required`, as the module's documentation says).
"""

import copy

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openclaw_host import GATEWAY_PORT

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
    engine=dict(engine=dict(type="str", choices=["podman", "docker"], default="podman")),
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


# The gateway context: what the openclaw_common role resolves about a host's gateway (the fact openclaw_gateway_paths,
# documented in roles/openclaw_common/README.md). Modules take it whole as the option `gateway`; each option a module
# lists in its context fields is filled from it unless the task gives the option itself.
CONTEXT_FIELDS = dict(
    cli=dict(type="path"), node_bin_dir=dict(type="path"), state_dir=dict(type="path"), config_path=dict(type="path"),
    token_file=dict(type="path"), log_file=dict(type="path"), log_dir=dict(type="path"), owner=dict(type="str"),
    group=dict(type="str"), unit=dict(type="str"), scope=dict(type="str", choices=["system", "user"]),
    user=dict(type="str"), port=dict(type="int"), version=dict(type="str"),
    manager=dict(type="str", choices=["systemd", "launchd", "compose"]), engine=dict(type="str"),
    container=dict(type="str"),
)
# module options fed by a context field of another name
CONTEXT_RENAMED = dict(run_as="owner", installed_version="version", openclaw_version="version", path="log_file")


def with_context(argument_spec, options):
    """Add the `gateway` option to `argument_spec` (in place) and take the default and `required` out of each of
    `options`: they apply after the context (apply_context). Returns what was taken, for apply_context."""
    deferred = {}
    for name in options:
        entry = argument_spec[name]
        deferred[name] = (entry.pop("default", None), entry.pop("required", False))
    argument_spec["gateway"] = dict(type="dict", options=copy.deepcopy(CONTEXT_FIELDS))
    return deferred


def apply_context(params, deferred, required_if=()):
    """Fill each deferred option the task did not give (None) from the gateway context, else its default, in
    `params` (in place). A compose gateway has no unit (its container is what runs). Returns the error message for a
    required option still missing, or None."""
    ctx = params.get("gateway") or {}
    for name, (default, _required) in deferred.items():
        if params.get(name) is not None:
            continue
        field = CONTEXT_RENAMED.get(name, name)
        if field == "unit" and ctx.get("manager") == "compose":
            params[name] = ""  # a compose gateway's container is what runs
            continue
        value = ctx.get(field)
        params[name] = default if value in (None, "") else value
    # the wording of AnsibleModule's own checks, with where the values could have come from
    errors = []
    missing = [name for name, (_default, required) in deferred.items() if required and params.get(name) in (None, "")]
    if missing:
        errors.append(f"missing required arguments: {', '.join(missing)}")
    for key, value, needs in required_if:
        absent = [name for name in needs if params.get(name) in (None, "")]
        if params.get(key) == value and absent:
            errors.append(f"{key} is {value} but all of the following are missing: {', '.join(absent)}")
    if errors:
        return "; ".join(errors) + " (give them, or the gateway context as gateway=openclaw_gateway_paths)"
    return None


def context_module(argument_spec, context, context_required_if=(), **kwargs):
    """The AnsibleModule of `argument_spec` with the `gateway` option, the options named in `context` filled from it
    (apply_context), and `context_required_if` (AnsibleModule's required_if rules that involve those options) checked
    after the filling. Fails the module like its own argument validation would."""
    deferred = with_context(argument_spec, context)
    kwargs.setdefault("supports_check_mode", True)  # every openclaw module does (its documentation says how)
    module = AnsibleModule(argument_spec=argument_spec, **kwargs)
    error = apply_context(module.params, deferred, context_required_if)
    if error:
        module.fail_json(msg=error)
    return module
