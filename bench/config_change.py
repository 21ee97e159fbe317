#!/usr/bin/env python3
"""Downtime of a configuration change applied by `deploy.yml`, in one run on ONE real host (primed image, reached over
SSH as the production path does), with the 10 Hz readiness poller that the upgrade bench uses
(scripts/readiness-poller.py, run on the host):

- a hot-reloadable change: the file log level (`openclaw_gateway_log_level`, applied by the running gateway);
- a restart-only change: a unit value (`openclaw_gateway_memory_high`; systemd applies it only to a new process).

Each change is made ROUNDS times, alternating it back, so every run really changes something. Prints per kind the
failed probes, the longest not-ready window and the deploy's wall time (medians), and whether the PID changed.
Usage: bench/config_change.py [ROUNDS]   (default 3)"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from podman_host import ENV, PodmanHost  # noqa: E402

TOKEN = "bench-config-change-token-0123456789abcdef0123"
KINDS = {"hot reload (log level)": ("openclaw_gateway_log_level", ["debug", "info"]),
         "restart (unit MemoryHigh)": ("openclaw_gateway_memory_high", ["1600M", "1536M"])}


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    poller = (ROOT / "module_utils" / "openclaw_host.py").read_text() + (ROOT / "scripts" / "readiness-poller.py").read_text()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp, PodmanHost(prefix="openclaw-bench-cfg", primed="2026.9.6") as host:
        inv = host.inventory(Path(tmp), openclaw_gateway_token=TOKEN)

        def deploy(*extra, log):
            t0 = time.monotonic()
            res = subprocess.run([str(ROOT / ".venv" / "bin" / "ansible-playbook"), "deploy.yml", "-i", str(inv),
                                  *extra], cwd=ROOT, env=ENV, capture_output=True, text=True)
            log.write_text(res.stdout + res.stderr)
            if res.returncode != 0:
                sys.exit(f"deploy failed (see {log})")
            return time.monotonic() - t0

        def pid():
            return host.run("systemctl show -p MainPID --value openclaw-gateway.service").stdout.strip()

        deploy(log=out / "config-change-first.log")
        for kind, (var, values) in KINDS.items():
            rows[kind] = []
            for i in range(rounds):
                value = values[i % 2 == 1]
                host.run("rm -f /run/cfg-poller.stop")
                proc = subprocess.Popen(["podman", "exec", host.name, "python3", "-c", poller, "/run/cfg-poller.stop"],
                                        env=ENV, stdout=subprocess.PIPE, text=True)
                time.sleep(2)
                before = pid()
                wall = deploy("-e", f"{var}={value}", log=out / f"config-change-{var}-{i}.log")
                time.sleep(2)
                host.run("touch /run/cfg-poller.stop")
                stats = json.loads(proc.communicate(timeout=60)[0])
                rows[kind].append((stats["failed"], stats["window"], wall, pid() != before, stats["probes"]))
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines = [f"config change bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, 1 host over SSH, openclaw 2026.9.6, "
             f"10 Hz poller, median of {rounds}, load {load}",
             f"{'change':28}{'failed probes':>14}{'not ready':>11}{'deploy':>9}{'restarted':>11}"]
    for kind, r in rows.items():
        lines.append(f"{kind:28}{statistics.median(x[0] for x in r):14.0f}{statistics.median(x[1] for x in r):10.2f}s"
                     f"{statistics.median(x[2] for x in r):8.1f}s{sum(x[3] for x in r):>7d}/{len(r)}")
    text = "\n".join(lines)
    print(text)
    (out / "config-change-latest.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
