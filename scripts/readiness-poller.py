"""10 Hz readiness poller, run inside a test host: GET /readyz until the stop file appears, then print JSON {probes,
failed, window, window_start, window_end, downtime}: window = the longest time /readyz was not ready, from the first
failed probe to the first ready one (wall-clock epoch seconds, to line up with the journal); downtime = all such time.
Measured with the host library's ReadinessWindow (module_utils/openclaw_host.py), the instrument the upgrade module's own
poller uses. Used by bench/upgrade.py, bench/config_change.py and the service-ops and Molecule upgrade tests, which run
`python3 -c <program>` with program = module_utils/openclaw_host.py's text followed by this file's; run as a file it
imports the library from the checkout.
argv: [stop file] [port]"""
import json
import os
import sys

if "ReadinessWindow" not in globals():  # run as a file, not after the library's text
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "module_utils"))
    from openclaw_host import GATEWAY_PORT, ReadinessWindow, poll_readiness, readyz_ok

stop = sys.argv[1] if len(sys.argv) > 1 else "/run/readiness-poller.stop"
port = sys.argv[2] if len(sys.argv) > 2 else GATEWAY_PORT
window = poll_readiness(lambda: readyz_ok(port), lambda: os.path.exists(stop), ReadinessWindow(), interval=0.1)
print(json.dumps(window.report()))
