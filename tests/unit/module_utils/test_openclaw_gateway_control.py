import json

from ansible.module_utils.openclaw_gateway_control import parse_unit_environment


def test_unit_environment_words_and_quoted_values():
    text = ('PATH=/opt/openclaw/node/v24.21.0/bin:/usr/bin HOME=/var/lib/openclaw '
            'NODE_COMPILE_CACHE=/var/cache/openclaw-gateway/node-compile-cache "NOTE=two words" NODE_ENV=production\n')
    env = parse_unit_environment(text)
    assert env == {"PATH": "/opt/openclaw/node/v24.21.0/bin:/usr/bin", "HOME": "/var/lib/openclaw",
                   "NODE_COMPILE_CACHE": "/var/cache/openclaw-gateway/node-compile-cache", "NOTE": "two words",
                   "NODE_ENV": "production"}


def test_unit_without_environment():
    assert parse_unit_environment("\n") == {}


class FakeModule:
    """run_command answers from a table of argv prefixes; every call is recorded."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def run_command(self, argv, **_kw):
        self.calls.append(argv)
        for prefix, answer in self.answers.items():
            if tuple(argv[:len(prefix)]) == prefix:
                return answer
        return 0, "", ""


def test_a_container_is_stopped_and_started_with_its_engine():
    from ansible.module_utils.openclaw_gateway_control import ContainerService, Service, gateway_service
    m = FakeModule({})
    svc = gateway_service(m, {"container": "openclaw-gateway", "engine": "docker", "port": 18790})
    assert isinstance(svc, ContainerService)
    svc.stop()
    svc.start()
    assert m.calls == [["docker", "stop", "openclaw-gateway"], ["docker", "start", "openclaw-gateway"]]
    unit = gateway_service(m, {"container": None, "unit": "openclaw-gateway.service", "scope": "system", "user": None,
                               "port": 18789})
    assert isinstance(unit, Service)


INSPECT = ("podman", "container", "inspect")


def inspected(state):
    """`<engine> container inspect` JSON for "status exit-code restarting [restart-count]"."""
    status, code, restarting, *restarts = state.split()
    doc = {"State": {"Status": status, "ExitCode": int(code), "Restarting": restarting == "true", "Pid": 0}}
    if restarts:
        doc["RestartCount"] = int(restarts[0])
    return (0, json.dumps([doc]), "")


def test_a_container_that_exited_with_an_error_gives_up_with_its_last_log_lines():
    from ansible.module_utils.openclaw_gateway_control import ContainerService
    m = FakeModule({INSPECT: inspected("exited 78 false 0"),
                    ("podman", "logs"): (0, "starting\nstate was written by a newer openclaw\n", "")})
    reason = ContainerService(m, "podman", "openclaw-gateway").gave_up()
    assert reason.startswith("openclaw-gateway exited with status 78") and "newer openclaw" in reason


def test_a_running_or_restarting_container_has_not_given_up():
    from ansible.module_utils.openclaw_gateway_control import ContainerService
    for state in ("running 0 false 0", "exited 1 true 0", "exited 0 false 0", "running 0 false"):
        m = FakeModule({INSPECT: inspected(state)})
        assert ContainerService(m, "podman", "openclaw-gateway").gave_up() is None, state


def test_a_container_caught_exited_78_between_restarts_gives_up():
    from ansible.module_utils.openclaw_gateway_control import ContainerService
    # its restart policy would only repeat the refusal
    m = FakeModule({INSPECT: inspected("exited 78 true 3"), ("podman", "logs"): (0, "", "")})
    assert ContainerService(m, "podman", "gw").gave_up() == "gw exited with status 78"


def test_a_crash_loop_gives_up_after_two_restarts_during_the_wait():
    from ansible.module_utils.openclaw_gateway_control import ContainerService
    answers = {INSPECT: inspected("running 0 false 5"), ("podman", "logs"): (0, "refused\n", "")}
    svc = ContainerService(FakeModule(answers), "podman", "gw")
    assert svc.gave_up() is None  # the count when the wait begins (5) is the baseline
    answers[INSPECT] = inspected("running 0 false 6")
    assert svc.gave_up() is None
    answers[INSPECT] = inspected("running 0 false 7")
    assert svc.gave_up() == "gw restarted 2 times without becoming ready: refused"


def test_a_failed_engine_command_says_which():
    import pytest
    from ansible.module_utils.openclaw_gateway_control import ContainerService
    m = FakeModule({("podman", "stop"): (125, "", "Error: no container with name openclaw-gateway\n")})
    with pytest.raises(RuntimeError, match="podman stop openclaw-gateway failed: Error: no container"):
        ContainerService(m, "podman", "openclaw-gateway").stop()


def test_chown_of_a_numeric_container_user(tmp_path, monkeypatch):
    import os

    from ansible.module_utils import openclaw_gateway_control as gc
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_text("x")
    seen = []
    monkeypatch.setattr(os, "chown", lambda path, uid, gid, **_kw: seen.append((uid, gid)))
    gc.chown_tree(str(tmp_path), "1000", "1000")
    assert seen and all(ids == (1000, 1000) for ids in seen)
