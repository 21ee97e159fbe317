import socket

import openclaw_health
import pytest
from fake_gateway import HEALTHY, FakeGateway


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthy(run_module):
    with FakeGateway(HEALTHY) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port, "expect_version": "2026.9.6"})
    assert kind == "exit"
    assert res["healthy"] and res["ready"] and res["live"] and res["version"] == "2026.9.6"
    assert res["changed"] is False


def test_check_mode_is_the_same_read(run_module):
    with FakeGateway(HEALTHY) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port}, check_mode=True)
    assert kind == "exit" and res["healthy"] and not res["changed"]


def test_starting_gateway_fails_with_failing_list(run_module, tmp_path):
    log = tmp_path / "openclaw.log"
    log.write_text("line1\nline2 startup-sidecars pending\n")
    answers = dict(HEALTHY, **{"/readyz": (503, {"ready": False, "failing": ["startup-sidecars"]})})
    with FakeGateway(answers) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port, "log_file": str(log)})
    assert kind == "fail"
    assert res["failing"] == ["startup-sidecars"]
    assert "/readyz not ready (failing: startup-sidecars)" in res["msg"]
    assert res["log_tail"][-1] == "line2 startup-sidecars pending"


def test_failing_channel(run_module):
    answers = dict(HEALTHY, **{"/readyz": (503, {"ready": False, "failing": ["channel:telegram"]})})
    with FakeGateway(answers) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port})
    assert kind == "fail" and res["failing"] == ["channel:telegram"]


def test_html_200_is_not_healthy(run_module):
    with FakeGateway({}) as gw:  # every path answers the Control UI HTML with 200
        kind, res = run_module(openclaw_health.main, {"port": gw.port})
    assert kind == "fail"
    assert res["status"]["/readyz"] == 200
    assert "answered HTML with status 200" in res["msg"]


def test_connection_refused(run_module):
    kind, res = run_module(openclaw_health.main, {"port": free_port()})
    assert kind == "fail"
    assert res["msg"].startswith("OpenClaw gateway on 127.0.0.1:")
    assert "connection refused" in res["msg"]


def test_timeout(run_module):
    with FakeGateway(HEALTHY, delay=1.5) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port, "timeout": 0.3})
    assert kind == "fail" and "timed out" in res["msg"]


def test_wrong_version(run_module):
    with FakeGateway(HEALTHY) as gw:
        kind, res = run_module(openclaw_health.main, {"port": gw.port, "expect_version": "2026.9.5"})
    assert kind == "fail"
    assert "version 2026.9.6 running, 2026.9.5 expected" in res["msg"]


def test_report_only(run_module):
    kind, res = run_module(openclaw_health.main, {"port": free_port(), "fail_on_unhealthy": False})
    assert kind == "exit" and res["healthy"] is False and res["problems"]


def test_wait_gives_up_after_timeout(run_module):
    kind, res = run_module(openclaw_health.main, {"port": free_port(), "wait": True, "wait_timeout": 2, "interval": 0.5})
    assert kind == "fail"
    assert res["attempts"] >= 3
    assert "after 2" in res["msg"]


@pytest.mark.parametrize("bad", [{"port": "abc"}, {"wait_timeout": "soon"}])
def test_bad_arguments_are_refused(run_module, bad):
    kind, res = run_module(openclaw_health.main, bad)
    assert kind == "fail" and "unable to convert" in res["msg"]
