"""10 Hz readiness poller, run inside a test host (python3 -c): GET /readyz until the stop file appears, then print
JSON {probes, failed, window, window_start, window_end}: window = the longest time /readyz was not ready, from the
first failed probe to the first ready one (wall-clock epoch seconds, to line up with the journal). Used by
bench/upgrade.py and the Molecule upgrade test, so both measure downtime with one instrument.
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
span = (None, None)
while not os.path.exists(stop):
    t = time.monotonic()
    try:
        ok = json.load(urllib.request.urlopen(url, timeout=1)).get("ready") is True
    except Exception:
        ok = False
    probes += 1
    if not ok:
        failed += 1
        if down_since is None:
            down_since, down_wall = t, time.time() - (time.monotonic() - t)
    elif down_since is not None:
        if t - down_since > longest:
            longest, span = t - down_since, (down_wall, time.time() - (time.monotonic() - t))
        down_since = None
    time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))
if down_since is not None and time.monotonic() - down_since > longest:
    longest, span = time.monotonic() - down_since, (down_wall, None)
print(json.dumps({"probes": probes, "failed": failed, "window": round(longest, 2), "window_start": span[0],
                  "window_end": span[1]}))
