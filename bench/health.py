#!/usr/bin/env python3
"""Health-probe latency and collector run time against the real gateway on loopback.

In one run: median of 50 bare HTTP GETs of /readyz (the anchor) vs median of 50 runs of the
openclaw_health module's main() (argument parsing + /healthz, /readyz, /startupz + parsing),
printed with the ratio; then the full health result with channels (deep check) p50/p95: through the
gateway's admin-http-rpc route (what health.yml does) vs `openclaw health --json` (the CLI, Node.js start
included), side by side; then the metrics collector's run time (median of 10) without and with the
CLI deep check.
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
N_CLI = 10


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

    def run(port, **extra):
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": {"port": port, "unit": "",
                                                                          "_ansible_remote_tmp": "/tmp", **extra}}))
        basic._ANSIBLE_PROFILE = "legacy"  # ansible-core 2.19+ decodes the arguments with a profile; unused before
        try:
            openclaw_health.main()
        except Done as d:
            assert d.args[0]["healthy"], d.args[0]
            return d.args[0]
    return run


def samples(fn, n):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def timed(fn, n):
    return statistics.median(samples(fn, n))


def p50_p95(values):
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def main():
    with RealGateway(admin_rpc=True) as gw:
        url = f"http://127.0.0.1:{gw.port}/readyz"
        bare = lambda: json.loads(urllib.request.urlopen(url, timeout=5).read())  # noqa: E731
        run = module_runner()
        for _ in range(5):  # warm up both paths
            bare()
            run(gw.port)
        bare_ms = timed(bare, N)
        mod_ms = timed(lambda: run(gw.port), N)
        deep = dict(deep=True, cli=gw.cli, node_bin_dir=str(node_bin()), config_path=str(gw.config),
                    state_dir=str(gw.state), deep_timeout=30)
        assert run(gw.port, token_file=str(gw.token_file), **deep)["deep_source"] == "rpc"
        rpc = p50_p95(samples(lambda: run(gw.port, token_file=str(gw.token_file), **deep), N))
        cli_argv = [gw.cli, "health", "--json", "--timeout", "30000"]
        cli = p50_p95(samples(lambda: subprocess.run(cli_argv, env=gw.env, check=True, capture_output=True), N_CLI))
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
    print(f"  full health with channels, module via admin RPC  p50 {rpc[0]:8.1f} ms  p95 {rpc[1]:8.1f} ms  (n={N})")
    print(f"  `openclaw health --json` (CLI)                   p50 {cli[0]:8.1f} ms  p95 {cli[1]:8.1f} ms  (n={N_CLI})")
    print(f"  RPC / CLI at p50: {rpc[0] / cli[0]:.3f}x ({cli[0] / rpc[0]:.0f}x faster)")
    print(f"  collector run, probes only (median of 10)  {res[False]:8.1f} ms")
    print(f"  collector run, with deep check (median 10) {res[True]:8.1f} ms")


if __name__ == "__main__":
    main()
