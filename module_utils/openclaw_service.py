"""Reads a gateway's systemd unit and its processes from the host (stdlib only).

Memory and CPU cover every process in the unit's cgroup (the gateway runs a main process,
a spawn broker and a sqlite worker: ~0.8 GB together), not only MainPID.
"""

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
