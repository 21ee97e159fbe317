#!/usr/bin/env python3
"""Upgrade, rollback and token-rotation downtime on one real systemd host, in one run, with one instrument.

A 10 Hz readiness poller runs inside the host (GET /readyz, ready=true counts) during each operation and reports
the longest window in which the gateway was not ready. Measured, on the same host, in this order:
  1. bare `systemctl restart` of the gateway on 2026.9.5 (median of 3): the anchor;
  2. upgrade.yml 2026.9.5 -> 2026.9.6 (the side-by-side install and the rehearsal start happen before the switch,
     outside the window);
  3. the same failing "upgrade" (2026.9.6 -> 2026.9.5, which refuses the migrated state with exit 78) twice:
     a. with the rehearsal (the default): refused before the switch, the window the running gateway saw (expected 0);
     b. with openclaw_upgrade_rehearse=false: caught after the switch; the whole window of the failed attempt plus the
        automatic rollback until 2026.9.6 is ready again, with no package download;
  4. rotate-token.yml: failed probes during the rotation.
Targets (issue 5): upgrade <= 1.2x bare restart, rollback <= 2x, rotation 0 failed probes.
The upgrade's window is split with the unit's journal (issue 11): the gateway's own stop (Stopping -> Stopped) and its
first start on the migrated state (Started -> first ready probe, the one-way migration included) versus the rest,
which is this project's own overhead inside the window (target <= 0.5 s).

Usage: bench/upgrade.py   (needs `make setup`; writes bench/results/upgrade-latest.txt)
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "openclaw-bench-upgrade"
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / ".cache" / "containers.conf"), ANSIBLE_FORCE_COLOR="0",
           PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}")

POLLER = (ROOT / "module_utils" / "openclaw_host.py").read_text() + (ROOT / "scripts" / "readiness-poller.py").read_text()


def sh(script, check=True):
    return subprocess.run(["podman", "exec", HOST, "bash", "-c", script], env=ENV, capture_output=True, text=True,
                          check=check)


def play(inv, *args):
    res = subprocess.run(["ansible-playbook", *args, "-i", str(inv)], cwd=ROOT, env=ENV, capture_output=True, text=True)
    return res.returncode, res.stdout


class Poller:
    def __enter__(self):
        sh("rm -f /run/bench-poller.stop")
        self.proc = subprocess.Popen(["podman", "exec", HOST, "python3", "-c", POLLER, "/run/bench-poller.stop"], env=ENV,
                                     stdout=subprocess.PIPE,
                                     text=True)
        time.sleep(1.5)
        return self

    def __exit__(self, *exc):
        time.sleep(1.0)
        sh("touch /run/bench-poller.stop")
        self.stats = json.loads(self.proc.communicate(timeout=60)[0])


def wait_ready(timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh("python3 -c \"import json,urllib.request,sys;sys.exit(0 if json.load(urllib.request.urlopen("
              "'http://127.0.0.1:18789/readyz',timeout=2)).get('ready') else 1)\"", check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise SystemExit("gateway not ready")


def window_split(stats):
    """Gateway's own stop and first start vs the project's overhead, from the unit's journal lined up with the
    poller's window (both on the host's clock)."""
    start, end = stats["window_start"], stats["window_end"]
    out = sh(f"journalctl -u openclaw-gateway.service -o json --no-pager --since @{int(start) - 5}").stdout
    events = {}
    for line in out.splitlines():
        rec = json.loads(line)
        msg, t = rec.get("MESSAGE", ""), int(rec["__REALTIME_TIMESTAMP"]) / 1e6
        for key, text in (("stopping", "Stopping"), ("stopped", "Stopped"), ("started", "Started")):
            if isinstance(msg, str) and msg.startswith(text) and key not in events and t >= start - 5:
                events[key] = t
    if not {"stopping", "stopped", "started"} <= set(events) or end is None:
        return dict(stop=float("nan"), start=float("nan"), overhead=float("nan"))
    stop = events["stopped"] - events["stopping"]
    first_start = end - events["started"]
    return dict(stop=stop, start=first_start, overhead=(end - start) - stop - first_start)


def main():
    image = subprocess.run([str(ROOT / "scripts" / "build-host-image.sh")], env=ENV, capture_output=True, text=True,
                           check=True).stdout.strip()
    subprocess.run(["podman", "rm", "-f", HOST], env=ENV, capture_output=True)
    subprocess.run(["podman", "run", "-d", "--name", HOST, "--hostname", HOST, "--systemd=always", "-v",
                    f"{ROOT / '.cache' / 'npm'}:/var/cache/openclaw/npm", image], env=ENV, check=True, capture_output=True)
    try:
        inv = Path(tempfile.mkdtemp(prefix="bench-upgrade-")) / "hosts.yml"
        inv.write_text(json.dumps({"openclaw": {"hosts": {HOST: None}, "vars": {
            "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3",
            "openclaw_nodejs_mirror_url": f"file://{ROOT}/.cache/node-mirror",
            "openclaw_nodejs_controller_cache_dir": f"{ROOT}/.cache/node-download",
            "openclaw_gateway_token": "bench-upgrade-token-0123456789abcdef0123456789",
            "openclaw_gateway_version": "2026.9.5"}}}))
        time.sleep(2)
        rc, out = play(inv, "deploy.yml")
        if rc:
            sys.exit("deploy failed:\n" + out[-3000:])
        wait_ready()
        restarts = []
        for _ in range(3):
            with Poller() as p:
                sh("systemctl restart openclaw-gateway")
                wait_ready()
            restarts.append(p.stats["window"])
        bare = statistics.median(restarts)

        with Poller() as p:
            rc, out = play(inv, "upgrade.yml", "-e", "openclaw_upgrade_version=2026.9.6")
        if rc:
            sys.exit("upgrade failed:\n" + out[-3000:])
        upgrade = p.stats["window"]
        split = window_split(p.stats)

        rehearsal = re.search(r"rehearsal start ([\d.]+) s before the switch", " ".join(out.split()))
        rehearsal = float(rehearsal.group(1)) if rehearsal else float("nan")

        with Poller() as p:
            rc, out = play(inv, "upgrade.yml", "-e", "openclaw_upgrade_version=2026.9.5")
            wait_ready()
        if rc == 0 or "refused before the switch" not in " ".join(out.split()):
            sys.exit("the downgrade was expected to be refused by the rehearsal:\n" + out[-3000:])
        refused = p.stats["window"]

        with Poller() as p:
            rc, out = play(inv, "upgrade.yml", "-e", "openclaw_upgrade_version=2026.9.5",
                           "-e", "openclaw_upgrade_rehearse=false")
            wait_ready()
        if rc == 0 or "exit status 78" not in " ".join(out.split()):
            sys.exit("the downgrade was expected to fail with exit 78 and roll back:\n" + out[-3000:])
        rollback = p.stats["window"]

        with Poller() as p:
            rc, out = play(inv, "rotate-token.yml", "-e", f"openclaw_token_store={inv.parent / 'tokens'}")
        if rc:
            sys.exit("rotation failed:\n" + out[-3000:])
        rotation = p.stats
    finally:
        subprocess.run(["podman", "rm", "-f", HOST], env=ENV, capture_output=True)

    load = os.getloadavg()[0]
    lines = [
        f"upgrade bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} on {os.cpu_count()} cores, load {load:.1f}; "
        "openclaw 2026.9.5 -> 2026.9.6, node 24.21.0, 10 Hz /readyz poller on the host",
        f"{'bare systemctl restart (median of 3)':44s} {bare:7.2f} s   runs {restarts}",
        f"{'upgrade downtime':44s} {upgrade:7.2f} s   {upgrade / bare:5.2f}x bare (target <= 1.2x)",
        f"{'  gateway stop (Stopping -> Stopped)':44s} {split['stop']:7.2f} s",
        f"{'  gateway first start on migrated state':44s} {split['start']:7.2f} s   Started -> first ready probe",
        f"{'  project overhead inside the window':44s} {split['overhead']:7.2f} s   target <= 0.5 s",
        f"{'  bare restart for comparison (same run)':44s} {bare:7.2f} s   upgrade window / (stop + first start) = "
        f"{upgrade / (split['stop'] + split['start']):.2f}x",
        f"{'  (rehearsal start before the switch)':44s} {rehearsal:7.2f} s   not in the window",
        f"{'failing upgrade refused by the rehearsal':44s} {refused:7.2f} s   downtime",
        f"{'failed upgrade -> old version ready again':44s} {rollback:7.2f} s   {rollback / bare:5.2f}x bare (target <= 2x, "
        "rehearse=false)",
        f"{'token rotation: failed probes':44s} {rotation['failed']:7d}     of {rotation['probes']} (target 0)",
    ]
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "upgrade-latest.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
