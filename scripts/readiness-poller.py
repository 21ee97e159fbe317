"""10 Hz readiness poller, run inside a test host (python3 -c): GET /readyz until the stop file appears, then print
JSON {probes, failed, window}: window = the longest time /readyz was not ready. Used by bench/upgrade.py and the
Molecule upgrade test, so both measure downtime with one instrument.
argv: [stop file] [port]"""
import json
import os
import sys
import time
import urllib.request

stop = sys.argv[1] if len(sys.argv) > 1 else "/run/readiness-poller.stop"
url = f"http://127.0.0.1:{sys.argv[2] if len(sys.argv) > 2 else 18789}/readyz"
probes = failed = 0
longest = 0.0
down_since = None
while not os.path.exists(stop):
    t = time.monotonic()
    try:
        ok = json.load(urllib.request.urlopen(url, timeout=1)).get("ready") is True
    except Exception:
        ok = False
    probes += 1
    if not ok:
        failed += 1
        down_since = t if down_since is None else down_since
    elif down_since is not None:
        longest = max(longest, t - down_since)
        down_since = None
    time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))
if down_since is not None:
    longest = max(longest, time.monotonic() - down_since)
print(json.dumps({"probes": probes, "failed": failed, "window": round(longest, 2)}))
