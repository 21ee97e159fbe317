#!/usr/bin/env python3
"""What the connection costs: the no-op `deploy.yml`, its `--check --diff` and `health.yml` on ONE real host
running the real gateway, reached two ways in the same run, alternating so that load drifts hit both alike:

- podman exec as root (the `containers.podman.podman` connection every other test uses; no pipelining);
- SSH as the non-root `deploy` account with sudo, through a port on 127.0.0.1, with ansible.cfg's pipelining and
  ControlPersist (the production path).

Prints the median wall time of each (ROUNDS runs), the ratio podman/SSH, and the seconds per task (wall / tasks
that ran on the host: ok + changed + skipped).
Usage: bench/connection.py [ROUNDS]   (default 3)"""

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from podman_host import ENV, PodmanHost  # noqa: E402

TOKEN = "bench-connection-token-0123456789abcdef012345"
RUNS = {"no-op deploy": ["deploy.yml"], "no-op --check --diff": ["deploy.yml", "--check", "--diff"],
        "health.yml": ["health.yml"]}


def play(inv, args, name, log, noop=True):
    t0 = time.monotonic()
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), *args], cwd=ROOT,
                         env=ENV, capture_output=True, text=True)
    wall = time.monotonic() - t0
    log.write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(args)} (see {log})")
    m = re.search(rf"{re.escape(name)}\s*:\s*ok=(\d+)\s+changed=(\d+).*?skipped=(\d+)", res.stdout)
    if noop and args[0] == "deploy.yml" and int(m[2]) != 0:
        sys.exit(f"the no-op deploy changed something (see {log})")
    return wall, int(m[1]) + int(m[2]) + int(m[3])


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, PodmanHost(prefix="openclaw-bench-conn", primed="2026.9.6",
                                                          ssh_dir=tmp) as host:
        tmp = Path(tmp)
        podman_inv = host.inventory(tmp, ssh=False, filename="podman.yml", openclaw_gateway_token=TOKEN)
        invs = {"podman exec (root)": podman_inv,
                "SSH + sudo, pipelining": host.inventory(tmp, filename="ssh.yml", openclaw_gateway_token=TOKEN)}
        play(podman_inv, ["deploy.yml"], host.name, out / "connection-first.log", noop=False)
        times = {(c, r): [] for c in invs for r in RUNS}
        tasks = {}
        for i in range(rounds):
            for conn, inv in invs.items():
                for run, args in RUNS.items():
                    log = out / f"connection-{i}-{conn.split()[0]}-{run.split()[-1].strip('-')}.log"
                    wall, n = play(inv, args, host.name, log)
                    times[(conn, run)].append(wall)
                    tasks[run] = n
    load = Path("/proc/loadavg").read_text().split()[:3]
    lines = [f"connection bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, 1 host, openclaw 2026.9.6, "
             f"median of {rounds}, load {' '.join(load)}",
             f"{'':24}{'podman exec':>14}{'SSH+sudo':>12}{'ratio':>8}{'tasks':>7}{'s/task SSH':>12}"]
    conns = list(invs)
    for run in RUNS:
        a, b = (statistics.median(times[(c, run)]) for c in conns)
        lines.append(f"{run:24}{a:13.1f}s{b:11.1f}s{a / b:7.2f}x{tasks[run]:7d}{b / tasks[run]:12.2f}")
    text = "\n".join(lines)
    print(text)
    (out / "connection-latest.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
