#!/usr/bin/env python3
"""Fleet scaling in one run: 1, 4 and 8 hosts, each running the real gateway, reached the production way (SSH as
the non-root `deploy` account with sudo, ansible.cfg's pipelining and ControlPersist), `forks` = host count.

Per fleet size, on fresh hosts from the primed image (Node.js + openclaw preinstalled, so the first deploy measures
the converge, not parallel npm installs on two cores): the first deploy, a no-op deploy (must be changed=0), a no-op
`--check --diff` and `health.yml` (deep check included). Prints each with the ratio of the largest fleet to one host,
then the cost of the no-op deploy: wall seconds per task, the controller's own CPU seconds (ansible-playbook and its
forks) per host, and the whole machine's busy CPU seconds (controller + hosts share these cores here).
Usage: bench/fleet.py [SIZES...]   (default: 1 4 8; each gateway needs about 0.9 GB of memory)"""

import contextlib
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from podman_host import ENV, PodmanHost  # noqa: E402

TOKEN = "bench-fleet-token-0123456789abcdef0123456789"
RUNS = {"first deploy": ["deploy.yml"], "no-op deploy": ["deploy.yml"],
        "no-op --check --diff": ["deploy.yml", "--check", "--diff"], "health.yml (deep)": ["health.yml"]}


def inventory(hosts, path):
    """One inventory for the fleet: what PodmanHost.inventory writes for one host, with a port per host."""
    lines = ["openclaw:", "  hosts:"]
    for h in hosts:
        lines += [f"    {h.name}:", f"      ansible_port: {h.ssh_port}"]
    lines += ["  vars:", "    ansible_connection: ssh", "    ansible_host: 127.0.0.1", "    ansible_user: deploy",
              f"    ansible_ssh_private_key_file: {hosts[0].ssh_key}",
              "    ansible_ssh_common_args: -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no",
              "    ansible_ssh_timeout: 60", "    ansible_python_interpreter: /usr/bin/python3",
              f"    openclaw_nodejs_mirror_url: file://{ROOT}/.cache/node-mirror",
              f"    openclaw_nodejs_controller_cache_dir: {ROOT}/.cache/node-download",
              f"    openclaw_gateway_token: {TOKEN}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def machine_cpu():
    """CPU seconds the whole machine has spent busy (controller, hosts, gateways) from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # minus idle and iowait


def play(inv, args, forks, log):
    """Wall seconds, the controller CPU seconds (this ansible-playbook and its forks) and the machine's busy CPU
    seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = machine_cpu()
    t0 = time.monotonic()
    res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inv), *args], cwd=ROOT,
                         env=dict(ENV, ANSIBLE_FORKS=str(forks)), capture_output=True, text=True)
    wall = time.monotonic() - t0
    busy = machine_cpu() - busy
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    log.write_text(res.stdout + res.stderr)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(args)} on {forks} host(s) (see {log})")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, busy, res.stdout


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [1, 4, 8]
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    wall, cpu, busy, tasks = {}, {}, {}, {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
            hosts = [stack.enter_context(PodmanHost(prefix=f"openclaw-bench-fleet{n}", primed="2026.9.6", ssh_dir=tmp))
                     for _ in range(n)]
            inv = inventory(hosts, Path(tmp) / "fleet.yml")
            for run, args in RUNS.items():
                slug = run.split()[0].strip("-")
                w, c, b, stdout = play(inv, args, n, out / f"fleet-{n}-{slug}-{run.split()[-1].strip('()-')}.log")
                wall[(n, run)], cpu[(n, run)], busy[(n, run)] = w, c, b
                if run == "no-op deploy":
                    recaps = re.findall(r"ok=(\d+)\s+changed=(\d+).*?skipped=(\d+)", stdout)
                    if len(recaps) != n or any(int(r[1]) for r in recaps):
                        sys.exit(f"the no-op deploy on {n} host(s) changed something")
                    tasks[n] = int(recaps[0][0]) + int(recaps[0][2])
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lo, hi = sizes[0], sizes[-1]
    lines = [f"fleet bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, SSH + sudo, forks = hosts, "
             f"openclaw 2026.9.6 (primed hosts), load {load}",
             f"{'':24}" + "".join(f"{f'{n} host(s)':>11}" for n in sizes) + f"{f'{hi}/{lo}':>9}"]
    for run in RUNS:
        lines.append(f"{run:24}" + "".join(f"{wall[(n, run)]:10.1f}s" for n in sizes)
                     + f"{wall[(hi, run)] / wall[(lo, run)]:8.2f}x")
    cores = os.cpu_count()
    for n in sizes:
        w, c, b = wall[(n, "no-op deploy")], cpu[(n, "no-op deploy")], busy[(n, "no-op deploy")]
        lines.append(f"no-op deploy, {n} host(s): {tasks[n]} tasks a host, {w / tasks[n]:.3f} s a task (wall); "
                     f"CPU: controller {c:.1f} s ({c / n:.2f} s a host), whole machine {b:.1f} s "
                     f"(busy {b / (w * cores):.0%} of {cores} cores)")
    text = "\n".join(lines)
    print(text)
    (out / "fleet-latest.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
