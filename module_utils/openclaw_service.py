"""Reads a gateway's systemd unit (or compose container) and its processes from the host (stdlib only).

Memory and CPU cover every process in the unit's cgroup (the gateway runs a main process,
a spawn broker and a sqlite worker: ~0.8 GB together), not only MainPID. For a container, the
process tree under the container's init PID as the engine reports it (`<engine> container inspect`).
"""

import json
import os

CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified")


def systemctl_argv(scope="system", user=None):
    argv = ["systemctl"]
    if scope == "user":
        argv += ["--user", f"--machine={user}@"]
    return argv


def unit_properties(module, unit, scope="system", user=None):
    """`systemctl show` of the unit as a dict ({} when systemctl is unavailable)."""
    props = ["MainPID", "ActiveState", "SubState", "NRestarts", "ControlGroup", "ActiveEnterTimestampMonotonic",
             "ExecMainStartTimestampMonotonic"]
    argv = systemctl_argv(scope, user) + ["show", unit] + [f"--property={p}" for p in props]
    rc, out, _err = module.run_command(argv)
    if rc != 0:
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def cgroup_pids(control_group):
    """PIDs in the unit's cgroup (v2 unified, or the v1 `systemd` hierarchy)."""
    if not control_group:
        return []
    for root in CGROUP_ROOTS:
        path = os.path.join(root, control_group.lstrip("/"))
        pids = set()
        for dirpath, _dirs, files in os.walk(path):
            if "cgroup.procs" in files:
                try:
                    with open(os.path.join(dirpath, "cgroup.procs")) as fh:
                        pids.update(int(x) for x in fh.read().split())
                except OSError:
                    continue
        if pids:
            return sorted(pids)
    return []


def process_stats(pids, proc="/proc"):
    """Sum resident memory (bytes) and CPU time (seconds) over `pids`; vanished PIDs are skipped."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    rss = 0
    cpu = 0.0
    seen = 0
    for pid in pids:
        try:
            with open(f"{proc}/{pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) * 1024
                        break
            with open(f"{proc}/{pid}/stat") as fh:
                # fields after the command name (which may contain spaces) start at ')'
                rest = fh.read().rsplit(")", 1)[1].split()
                cpu += (int(rest[11]) + int(rest[12])) / ticks
            seen += 1
        except (OSError, IndexError, ValueError):
            continue
    return dict(processes=seen, memory_bytes=rss, cpu_seconds=round(cpu, 2))


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
    data = run_json(module, [engine, "container", "inspect", container])
    if data is None:
        return {}
    if isinstance(data, list):
        data = data[0] if data else {}
    state = data.get("State") or {}
    return dict(pid=int(state.get("Pid") or 0), status=str(state.get("Status") or "unknown"),
                restarts=int(data.get("RestartCount") or 0))


def process_tree(root_pid, proc="/proc"):
    """`root_pid` and all its descendants, from the parent PIDs in /proc/*/stat ([] when root_pid is 0)."""
    if not root_pid:
        return []
    children = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        try:
            with open(f"{proc}/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [int(root_pid)]
    while todo:
        pid = todo.pop()
        if pid in tree:
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return sorted(tree)


def container_startupz(module, engine, container, port, timeout=10):
    """/startupz read from inside the container ({} on any failure).

    The gateway shows its version and uptime to loopback clients only; through the engine's port mapping the
    host is not loopback to it, so the version is read with the image's own node inside the container.
    """
    script = (f"fetch('http://127.0.0.1:{int(port)}/startupz', {{signal: AbortSignal.timeout({int(timeout) * 1000})}})"
              ".then(r => r.text()).then(t => console.log(t), () => process.exit(1))")
    data = run_json(module, [engine, "exec", container, "node", "-e", script])
    return data if isinstance(data, dict) else {}
