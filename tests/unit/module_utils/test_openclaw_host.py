"""The host library (module_utils/openclaw_host.py): what the modules and the host scripts (collector, checks, diagnose,
scheduled backup) share. Standard library only: the scripts import it on hosts without Ansible."""

import ast
import http.server
import json
import os
import sys
import threading
from pathlib import Path

import pytest
from ansible.module_utils import openclaw_host as host

SOURCE = Path(host.__file__)


def test_the_host_library_imports_nothing_but_the_standard_library():
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert names <= set(sys.stdlib_module_names), names - set(sys.stdlib_module_names)


def test_systemctl_for_both_scopes():
    assert host.systemctl_argv() == ["systemctl"]
    assert host.systemctl_argv("user", "alice") == ["systemctl", "--user", "--machine=alice@"]
    assert host.show_argv("gw.service", ("MainPID", "ControlGroup"), "user", "alice") == [
        "systemctl", "--user", "--machine=alice@", "show", "gw.service", "--property=MainPID,ControlGroup"]


def test_unit_show_parses_properties_and_is_empty_when_systemctl_fails():
    calls = []

    def runner(argv):
        calls.append(argv)
        return 0, "MainPID=42\nControlGroup=/system.slice/gw.service\nEnvironment=A=1 B=2\n", ""

    props = host.unit_show("gw.service", ("MainPID", "ControlGroup"), runner=runner)
    assert props == {"MainPID": "42", "ControlGroup": "/system.slice/gw.service", "Environment": "A=1 B=2"}
    assert calls == [["systemctl", "show", "gw.service", "--property=MainPID,ControlGroup"]]
    assert host.unit_show("gw.service", ("MainPID",), runner=lambda argv: (1, "", "no bus")) == {}


def test_unit_usage_sums_every_process_of_the_cgroup(tmp_path, monkeypatch):
    group = tmp_path / "system.slice" / "gw.service"
    (group / "worker").mkdir(parents=True)
    (group / "cgroup.procs").write_text(f"{os.getpid()}\n")
    (group / "worker" / "cgroup.procs").write_text(f"{os.getppid()}\n999999999\n")
    monkeypatch.setattr(host, "CGROUP_ROOTS", (str(tmp_path / "absent"), str(tmp_path)))
    assert host.cgroup_pids("/system.slice/gw.service") == sorted([os.getpid(), os.getppid(), 999999999])
    usage = host.unit_usage("/system.slice/gw.service")
    assert usage["processes"] == 2 and usage["memory_bytes"] > 0 and usage["cpu_seconds"] >= 0  # 999999999 is gone
    assert host.unit_usage("") == dict(processes=0, memory_bytes=0, cpu_seconds=0.0)


def test_channels_connected_and_disconnected():
    health = {"channels": {"telegram": {"configured": True, "probe": {"ok": True}},
                           "whatsapp": {"configured": True, "connected": False, "healthState": "disconnected"},
                           "discord": {"healthState": "Healthy"}, "slack": {"configured": False}}}
    assert host.summarize_channels(health) == {"configured": 3, "connected": 2, "disconnected": ["whatsapp"]}
    assert host.summarize_channels({"ok": True}) == {"configured": 0, "connected": 0, "disconnected": []}


def test_a_refused_connection_is_not_asked_three_times():
    asked = []

    def fetch(url):
        asked.append(url)
        return -1, None, "connection refused"

    summary = host.probe_endpoints(fetch, "http://127.0.0.1:1")
    assert asked == ["http://127.0.0.1:1/healthz"]
    assert summary["errors"] == {p: "connection refused" for p in host.PROBE_PATHS} and not summary["live"]


class _Handler(http.server.BaseHTTPRequestHandler):
    ANSWERS = {"/readyz": (503, b'{"ready": false, "failing": ["channels"]}'), "/healthz": (200, b'{"ok": true}'),
               "/ui": (200, b"<!doctype html><html></html>")}

    def do_GET(self):  # noqa: N802 - http.server's name
        status, body = self.ANSWERS[self.path]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_json_reads_json_of_any_status_and_refuses_html(server):
    assert host.http_json(server + "/readyz") == (503, {"ready": False, "failing": ["channels"]}, None)
    assert host.http_json(server + "/healthz") == (200, {"ok": True}, None)
    assert host.http_json(server + "/ui") == (200, None, "answered HTML with status 200, not the gateway's JSON")
    assert not host.readyz_ok(server.rsplit(":", 1)[1])


def test_http_json_names_a_refused_connection():
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        assert host.http_json(f"http://127.0.0.1:{port}/readyz", 1) == (-1, None, "connection refused")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def time(self):
        return self.now + 1_700_000_000

    def sleep(self, seconds):
        self.now += seconds


def test_gate_returns_once_ready_and_stops_when_the_service_gave_up():
    clock = FakeClock()
    answers = iter([["/readyz not ready"], []])

    def attempt(left):
        clock.sleep(2)
        return {"problems": next(answers)}

    assert host.gate(attempt, 30, lambda: None, clock) == {"problems": []}
    with pytest.raises(RuntimeError, match="^gw.service failed$"):
        host.gate(lambda left: {"problems": ["down"]}, 30, lambda: "gw.service failed", clock)


def test_gate_gives_up_at_the_timeout_with_the_last_problems():
    clock = FakeClock()

    def attempt(left):
        clock.sleep(min(2, max(left, 0.1)))
        return {"problems": ["/readyz connection refused"]}

    with pytest.raises(RuntimeError, match=r"not ready within 5 s: /readyz connection refused"):
        host.gate(attempt, 5, None, clock)
    assert clock.now == pytest.approx(1005.0)


def test_readiness_window_counts_downtime_and_the_longest_window():
    clock = FakeClock()
    answers = iter([True, False, False, True, False, True, False])
    window = host.poll_readiness(lambda: next(answers), lambda: clock.now >= 1000.7, interval=0.1, clock=clock)
    report = window.report()
    assert report["probes"] == 7 and report["failed"] == 4
    assert report["window"] == pytest.approx(0.2) and report["downtime"] == pytest.approx(0.4)
    assert report["window_start"] == pytest.approx(1_700_001_000.1) and report["window_end"] == pytest.approx(1_700_001_000.3)


def test_the_cli_runs_as_the_owner_with_the_gateways_environment():
    assert host.as_owner(["openclaw", "status"], "root") == ["openclaw", "status"]
    assert host.as_owner(["openclaw", "status"], "openclaw", "/usr/sbin/runuser") == [
        "/usr/sbin/runuser", "-u", "openclaw", "--", "openclaw", "status"]
    assert host.gateway_env("/opt/node/bin", "/etc/oc.json", "/var/lib/oc") == {
        "PATH": "/opt/node/bin:" + host.SYSTEM_PATH, "OPENCLAW_CONFIG_PATH": "/etc/oc.json",
        "OPENCLAW_STATE_DIR": "/var/lib/oc"}
    assert host.gateway_env() == {}


def test_run_never_raises():
    assert host.run([sys.executable, "-c", "print('{\"ok\": true}')"])[:2] == (0, '{"ok": true}\n')
    assert host.run(["/nonexistent/openclaw"])[0] == 127
    rc, _out, err = host.run([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5)
    assert rc == 124 and "timed out after 0.5 s" in err
    rc, out, _err = host.run_gateway_cli(sys.executable, ["-c", "import json, os; print(json.dumps(dict(os.environ)))"],
                                         env={"OPENCLAW_STATE_DIR": "/s"})
    assert rc == 0 and json.loads(out)["OPENCLAW_STATE_DIR"] == "/s"


def test_retention_keeps_the_newest_and_the_young(tmp_path):
    now = 1_800_000_000
    files = [dict(path=f"/b/a{age}.tar.gz", mtime=now - age * 86400) for age in (1, 8, 3, 10)]
    assert host.prune_list(files, 7, now) == ["/b/a10.tar.gz", "/b/a8.tar.gz"]
    assert host.prune_list([dict(path="/b/old", mtime=0)], 7, now) == []
    for name, age in (("openclaw-config-h-1.tar.gz", 40), ("openclaw-config-h-2.tar.gz.age", 35),
                      ("openclaw-config-h-3.tar.gz", 31), ("openclaw-backup-h-1.tar.gz", 100)):
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (now - age * 86400, now - age * 86400))
    assert host.prune_archives(str(tmp_path), "config", 30, now) == ["openclaw-config-h-1.tar.gz",
                                                                     "openclaw-config-h-2.tar.gz.age"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openclaw-backup-h-1.tar.gz", "openclaw-config-h-3.tar.gz"]
