"""One health check of a gateway for the openclaw_health module (stdlib + Ansible module_utils; target side).

The probes (openclaw_probe), then what the unit or the container uses (openclaw_service), then the optional deep check;
the result says what is wrong in words (`problems`) and, when something is, carries the sentence the module fails or
reports with (`msg`) and the tail of the gateway's log.
"""

from ansible.module_utils.openclaw_gateway_control import gateway_service
from ansible.module_utils.openclaw_host import container_exec_argv
from ansible.module_utils.openclaw_probe import deep_health_fast, tail_file, wait_for
from ansible.module_utils.openclaw_service import (
    cgroup_pids,
    container_properties,
    container_startupz,
    process_stats,
    process_tree,
    unit_properties,
)


def unit_stats(module, unit, scope, user):
    props = unit_properties(module, unit, scope, user)
    stats = dict(main_pid=int(props.get("MainPID") or 0), restarts=int(props.get("NRestarts") or 0),
                 active_state=props.get("ActiveState", "unknown"))
    stats.update(process_stats(cgroup_pids(props.get("ControlGroup", ""))))
    return stats


def container_stats(module, engine, container):
    props = container_properties(module, engine, container)
    pid = props.get("pid", 0) if props.get("status") == "running" else 0
    stats = dict(main_pid=pid, restarts=props.get("restarts", 0), active_state=props.get("status", "absent"))
    stats.update(process_stats(process_tree(pid)))
    return stats


def run_deep(module, p):
    env = {}
    if p["node_bin_dir"]:
        env["PATH"] = p["node_bin_dir"] + ":/usr/local/bin:/usr/bin:/bin"
    if p["config_path"]:
        env["OPENCLAW_CONFIG_PATH"] = p["config_path"]
    if p["state_dir"]:
        env["OPENCLAW_STATE_DIR"] = p["state_dir"]
    # compose: the image's CLI inside the container (the host has none), with the container's config and state
    inside = container_exec_argv(p["engine"], p["container"], ["openclaw"]) if p["container"] else None
    return deep_health_fast(module, p["cli"], env if not inside else {}, run_as=p["run_as"],
                            timeout_ms=p["deep_timeout"] * 1000, port=p["port"], token_file=p["token_file"],
                            host=p["host"], cli_argv=inside)


def add_container(module, p, summary):
    """Processes of the compose container; the version read inside it (the host is not loopback to the gateway)."""
    summary.update(container_stats(module, p["engine"], p["container"]))
    if summary["live"] and summary.get("version") is None and summary["active_state"] == "running":
        inside = container_startupz(module, p["engine"], p["container"], p["port"], p["timeout"])
        summary["version"] = inside.get("version")
        summary["uptime_ms"] = inside.get("uptimeMs", summary.get("uptime_ms"))
        if p["expect_version"] and summary["version"] != p["expect_version"]:
            summary["problems"].append(f"version {summary['version'] or 'unknown'} running in container "
                                       f"{p['container']}, {p['expect_version']} expected")
    if summary["problems"] and summary["active_state"] not in ("running", "unknown"):
        summary["problems"].insert(0, f"container {p['container']} is {summary['active_state']}")


def add_unit(module, p, summary):
    summary.update(unit_stats(module, p["unit"], p["scope"], p["user"]))
    if summary["problems"] and summary["active_state"] not in ("active", "unknown"):
        summary["problems"].insert(0, f"unit {p['unit']} is {summary['active_state']}")


def add_deep(module, p, summary):
    deep, error = run_deep(module, p)
    if error:
        summary["problems"].append(error)
        return
    summary.update(deep)
    if deep["channels_disconnected"]:
        summary["problems"].append("channels not connected: " + ", ".join(deep["channels_disconnected"]))


def check_health(module):
    """The module's result: healthy, the probe summary, process figures, deep-check counts; `msg` and `log_tail`
    when unhealthy."""
    p = module.params
    # waiting on a unit that failed, or a container that refused its state, ends early with the reason (a unit only
    # where systemctl exists: not on macOS)
    askable = p["container"] or (p["unit"] and module.get_bin_path("systemctl"))
    supervisor = gateway_service(module, p) if p["wait"] and askable else None
    summary = wait_for(module, p["host"], p["port"], p["timeout"], wait_timeout=p["wait_timeout"] if p["wait"] else 0,
                       interval=p["interval"], expect_version=p["expect_version"],
                       gave_up=supervisor.gave_up if supervisor else None)
    summary.pop("raw", None)
    summary.pop("errors", None)
    if p["container"]:
        add_container(module, p, summary)
    elif p["unit"]:
        add_unit(module, p, summary)
    if p["deep"] and not summary["problems"]:
        add_deep(module, p, summary)
    result = dict(changed=False, healthy=not summary["problems"], **summary)
    if not result["healthy"]:
        waited = f" after {summary['elapsed']:g} s" if p["wait"] else ""
        result.update(log_tail=tail_file(p["log_file"], p["log_lines"]),
                      msg=f"OpenClaw gateway on {p['host']}:{p['port']} is unhealthy{waited}: "
                          f"{'; '.join(summary['problems'])}.")
    return result
