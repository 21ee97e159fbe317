"""Container helpers of module_utils/openclaw_service.py (compose deployments): process tree, inspect, /startupz."""

import json
import os
import subprocess
import sys

from ansible.module_utils.openclaw_service import container_properties, container_startupz, process_stats, process_tree


class FakeModule:
    """Stands in for AnsibleModule.run_command: records argv, returns one canned answer."""

    def __init__(self, rc=0, out="", err=""):
        self.answer = (rc, out, err)
        self.argv = None

    def run_command(self, argv):
        self.argv = argv
        return self.answer


def write_stat(proc, pid, ppid, comm="node"):
    d = proc / str(pid)
    d.mkdir()
    # comm with a space and a ')' as the kernel allows: the parser splits after the last ')'
    (d / "stat").write_text(f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0\n")


def test_process_tree_walks_descendants_only(tmp_path):
    for pid, ppid in [(1, 0), (100, 1), (101, 100), (102, 101), (103, 100), (200, 1)]:
        write_stat(tmp_path, pid, ppid, comm="a b) c")
    (tmp_path / "self").mkdir()  # non-numeric entries are ignored
    assert process_tree(100, proc=str(tmp_path)) == [100, 101, 102, 103]
    assert process_tree(0, proc=str(tmp_path)) == []
    assert process_tree(999, proc=str(tmp_path)) == [999]  # vanished root: process_stats skips it


def test_process_tree_on_the_real_proc_includes_a_child():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tree = process_tree(os.getpid())
        assert os.getpid() in tree and child.pid in tree
        stats = process_stats(tree)
        assert stats["processes"] >= 2 and stats["memory_bytes"] > 0
    finally:
        child.kill()
        child.wait()


def test_container_properties_podman_inspect():
    out = json.dumps([{"State": {"Status": "running", "Pid": 4242}, "RestartCount": 2}])
    m = FakeModule(out=out)
    assert container_properties(m, "podman", "openclaw-gateway") == {"pid": 4242, "status": "running", "restarts": 2}
    assert m.argv == ["podman", "container", "inspect", "openclaw-gateway"]


def test_container_properties_missing_container_or_bad_output():
    assert container_properties(FakeModule(rc=125, err="no such container"), "podman", "x") == {}
    assert container_properties(FakeModule(out="not json"), "docker", "x") == {}
    stopped = json.dumps([{"State": {"Status": "exited", "Pid": 0}, "RestartCount": 0}])
    assert container_properties(FakeModule(out=stopped), "docker", "x") == {"pid": 0, "status": "exited", "restarts": 0}


def test_container_startupz_reads_json_from_exec():
    m = FakeModule(out='{"ok":true,"status":"started","version":"2026.9.6","uptimeMs":34722}\n')
    assert container_startupz(m, "podman", "gw", 18789)["version"] == "2026.9.6"
    assert m.argv[:5] == ["podman", "exec", "gw", "node", "-e"] and "127.0.0.1:18789/startupz" in m.argv[5]
    assert container_startupz(FakeModule(rc=1), "podman", "gw", 18789) == {}
    assert container_startupz(FakeModule(out="<html>"), "podman", "gw", 18789) == {}


def test_health_container_stats_measures_the_inspected_pid():
    from ansible.module_utils.openclaw_health_check import container_stats

    running = json.dumps([{"State": {"Status": "running", "Pid": os.getpid()}, "RestartCount": 1}])
    stats = container_stats(FakeModule(out=running), "podman", "gw")
    assert stats["main_pid"] == os.getpid() and stats["restarts"] == 1 and stats["active_state"] == "running"
    assert stats["processes"] >= 1 and stats["memory_bytes"] > 0
    gone = container_stats(FakeModule(rc=125), "podman", "gw")
    assert gone == dict(main_pid=0, restarts=0, active_state="absent", processes=0, memory_bytes=0, cpu_seconds=0.0)
