"""Reads a gateway's systemd unit (or compose container) and its processes from the host, for modules.

The unit side (systemctl for both scopes, the cgroup's processes, memory and CPU over all of them) is the host
library's (openclaw_host), with Ansible's run_command. For a container, the process tree under the container's init
PID as the engine reports it (`<engine> container inspect`).
"""

import json

from ansible.module_utils.openclaw_host import (
    as_owner,
    cgroup_pids,
    container_show,
    process_stats,
    process_tree,
    systemctl_argv,
    unit_show,
)

# the unit's accounting and service control live in the host library; the health module imports them from here
__all__ = ["cgroup_pids", "process_stats", "systemctl_argv", "unit_properties", "owner_argv", "container_properties",
           "container_startupz", "process_tree", "run_json"]

UNIT_PROPERTIES = ("MainPID", "ActiveState", "SubState", "NRestarts", "ControlGroup", "ActiveEnterTimestampMonotonic",
                   "ExecMainStartTimestampMonotonic")


def unit_properties(module, unit, scope="system", user=None):
    """`systemctl show` of the unit as a dict ({} when systemctl is unavailable)."""
    return unit_show(unit, UNIT_PROPERTIES, scope, user, runner=module.run_command)


def owner_argv(module, argv, owner):
    """`argv` run as the service owner (the gateway CLI, so files it touches in the state directory stay the owner's):
    the host library's as_owner with the runuser this host has; the module fails clearly when there is none."""
    if not owner or owner == "root":
        return list(argv)
    return as_owner(argv, owner, module.get_bin_path("runuser", required=True, opt_dirs=["/usr/sbin", "/sbin"]))


def run_json(module, argv):
    """The JSON a command prints, or None when it fails or prints something else."""
    rc, out, _err = module.run_command(argv)
    if rc != 0:
        return None
    try:
        return json.loads(out)
    except ValueError:
        return None


def container_properties(module, engine, container):
    """State of a container from `<engine> container inspect` ({} when the engine or the container is missing)."""
    shown = container_show(engine, container, runner=module.run_command)
    return {k: shown[k] for k in ("pid", "status", "restarts")} if shown else {}


def container_startupz(module, engine, container, port, timeout=10):
    """/startupz read from inside the container ({} on any failure).

    The gateway shows its version and uptime to loopback clients only; through the engine's port mapping the
    host is not loopback to it, so the version is read with the image's own node inside the container.
    """
    script = (f"fetch('http://127.0.0.1:{int(port)}/startupz', {{signal: AbortSignal.timeout({int(timeout) * 1000})}})"
              ".then(r => r.text()).then(t => console.log(t), () => process.exit(1))")
    data = run_json(module, [engine, "exec", container, "node", "-e", script])
    return data if isinstance(data, dict) else {}
