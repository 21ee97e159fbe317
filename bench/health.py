#!/usr/bin/env python3
"""Health-probe latency and collector run time against the real gateway on loopback.

In one run: median of 50 bare HTTP GETs of /readyz (the anchor) vs median of 50 runs of the
openclaw_health module's main() (argument parsing + /healthz, /readyz, /startupz + parsing),
printed with the ratio; then the metrics collector's run time (median of 10) without and with
the authenticated deep check (which starts the openclaw CLI).
Usage: .venv/bin/python bench/health.py
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "library")]
import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
from real_gateway import RealGateway, node_bin  # noqa: E402

N = 50


def module_runner():
    import openclaw_health
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes

    class Done(Exception):
        pass

    def stop(self, **kw):
        raise Done(kw)

    basic.AnsibleModule.exit_json = stop
    basic.AnsibleModule.fail_json = stop

    def run(port):
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {"port": port, "unit": "",
                                                                          "_ansible_remote_tmp": "/tmp"}}))
        try:
            openclaw_health.main()
        except Done as d:
            assert d.args[0]["healthy"], d.args[0]
    return run


def timed(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main():
    with RealGateway() as gw:
        url = f"http://127.0.0.1:{gw.port}/readyz"
        bare = lambda: json.loads(urllib.request.urlopen(url, timeout=5).read())  # noqa: E731
        run = module_runner()
        for _ in range(5):  # warm up both paths
            bare()
            run(gw.port)
        bare_ms = timed(bare, N)
        mod_ms = timed(lambda: run(gw.port), N)
        collector = ROOT / "roles/openclaw_monitoring/files/openclaw-metrics-collector.py"
        with tempfile.TemporaryDirectory() as tmp:
            base = {"port": gw.port, "unit": "openclaw-bench-none.service", "cli": gw.cli, "node_bin_dir": str(node_bin()),
                    "config_path": str(gw.config), "state_dir": str(gw.state), "textfile": f"{tmp}/openclaw.prom",
                    "marker_dir": f"{tmp}/markers"}
            res = {}
            for deep in (False, True):
                cfg = Path(tmp) / f"c{deep}.json"
                cfg.write_text(json.dumps(dict(base, deep=deep)))
                res[deep] = timed(lambda c=cfg: subprocess.run([sys.executable, str(collector), "--config", str(c)],
                                                                check=True), 10)
            text = Path(base["textfile"]).read_text()
            assert "openclaw_channels_configured 0" in text, text
    print(f"health bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, real openclaw gateway on loopback")
    print(f"  bare GET /readyz (median of {N})            {bare_ms:8.2f} ms")
    print(f"  openclaw_health main() (median of {N})      {mod_ms:8.2f} ms   {mod_ms / bare_ms:5.2f}x bare, "
          f"+{mod_ms - bare_ms:.2f} ms")
    print(f"  collector run, probes only (median of 10)  {res[False]:8.1f} ms")
    print(f"  collector run, with deep check (median 10) {res[True]:8.1f} ms")


if __name__ == "__main__":
    main()
