#!/usr/bin/python
"""Ansible module: probe an OpenClaw gateway's health endpoints."""

DOCUMENTATION = r"""
---
module: openclaw_health
short_description: Probe an OpenClaw gateway's /healthz, /readyz and /startupz
description:
  - Probes the gateway's unauthenticated probe endpoints on the host and parses their JSON.
    An HTML answer with status 200 (what the gateway returns for unknown paths) is not healthy.
  - Optionally waits until the gateway is ready and reports an expected version.
  - Never changes anything.
  - On an unhealthy gateway it fails with one sentence saying what is failing, the C(failing) list,
    and the tail of the gateway log when O(log_file) is given.
version_added: "0.1.0"
author: openclaw-ops contributors (@openclaw-ops)
options:
  host:
    description: Address the gateway listens on.
    type: str
    default: 127.0.0.1
  timeout:
    description: Seconds per HTTP request.
    type: float
    default: 5.0
  wait:
    description: Keep probing until healthy or until O(wait_timeout) passes.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to keep probing when O(wait=true).
    type: int
    default: 120
  interval:
    description: Seconds between probes while waiting.
    type: float
    default: 1.0
  expect_version:
    description: Fail unless C(/startupz) reports this version.
    type: str
  log_file:
    description: Gateway log file whose tail is returned on failure. Not given, O(gateway.log_file).
    type: path
  log_lines:
    description: Number of log lines returned on failure.
    type: int
    default: 20
  fail_on_unhealthy:
    description: Fail the task when the gateway is unhealthy; with V(false) only report.
    type: bool
    default: true
  deep:
    description:
      - Also run the authenticated deep check, the gateway's C(health) method, which returns channel and session counts.
      - With O(token_file) set it asks the running gateway through the bundled admin-http-rpc plugin
        (C(POST /api/v1/admin/rpc), bearer token from O(token_file), milliseconds). When that route is not registered
        (plugin disabled) it falls back to C(openclaw health --json) through the installed CLI (about 4 s of Node.js
        start-up), which reads the token through the config's file SecretRef. RV(deep_source) says which answered.
      - With O(container) set, that CLI runs inside the container (C(<engine> exec)), with the container's config.
      - A configured channel that is not connected makes the gateway unhealthy.
    type: bool
    default: false
  run_as:
    description: Run the deep check as this user (the service owner), so nothing it touches becomes root-owned. Not
      given, O(gateway.owner).
    type: str
  deep_timeout:
    description: Seconds the deep check may take (the CLI otherwise hangs 60 s on a down gateway).
    type: int
    default: 10
  unit:
    description: systemd unit whose processes are measured (resident memory and CPU of every process in its cgroup).
      Empty to skip. Not given, O(gateway.unit) (none for a compose gateway), else C(openclaw-gateway.service).
  container:
    description:
      - Container of a compose deployment whose processes are measured instead of O(unit) (the engine's init PID
        of the container and every process below it); takes precedence over O(unit).
      - The gateway shows its version and uptime only to loopback clients, which the host is not through the engine's
        port mapping. With O(container), RV(version) and RV(uptime_ms) are read inside the container
        (C(<engine> exec <container> node -e fetch(/startupz))) and O(expect_version) is checked against that.
      - RV(restarts) is then the engine's RestartCount and RV(active_state) the container's status (C(running), C(exited)).
      - Not given, O(gateway.container).
    type: str
attributes:
  check_mode:
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    details: Changes nothing, so there is no diff.
extends_documentation_fragment:
  - openclaw.attributes
  - openclaw.service
  - openclaw.port
  - openclaw.cli
  - openclaw.state_dir
  - openclaw.token_file
  - openclaw.gateway
  - openclaw.engine
notes:
  - Runs on the target with the Python standard library and Ansible's module_utils only.
"""

EXAMPLES = r"""
- name: Wait until the gateway is ready and runs the pinned version
  openclaw_health:
    wait: true
    wait_timeout: 120
    expect_version: "2026.9.6"
    log_file: /var/log/openclaw/openclaw.log

- name: Report without failing
  openclaw_health:
    fail_on_unhealthy: false
  register: health

- name: A compose deployment (memory and CPU of the container's processes)
  openclaw_health:
    unit: ""
    container: openclaw-gateway
    engine: podman

- name: Any deployment, from the gateway context the openclaw_common role resolved (paths, port, unit or container)
  openclaw_health:
    gateway: "{{ openclaw_gateway_paths }}"
    deep: true
"""

RETURN = r"""
healthy:
  description: Live, ready, started, reachable and (if asked) the expected version.
  returned: always
  type: bool
  sample: true
live:
  description: C(/healthz) answered C({"ok":true,"status":"live"}).
  returned: always
  type: bool
  sample: true
ready:
  description: C(/readyz) answered 200 with C(ready=true).
  returned: always
  type: bool
  sample: true
started:
  description: C(/startupz) answered C(status=started).
  returned: always
  type: bool
  sample: true
version:
  description: Version reported by C(/startupz).
  returned: always
  type: str
  sample: "2026.9.6"
uptime_ms:
  description: Gateway uptime in milliseconds as reported by the gateway.
  returned: always
  type: int
  sample: 34210
failing:
  description: Readiness checks the gateway reports as failing.
  returned: always
  type: list
  elements: str
  sample: ["startup-sidecars"]
problems:
  description: What is wrong, in words; empty when healthy.
  returned: always
  type: list
  elements: str
  sample: ["/healthz connection refused"]
status:
  description: HTTP status per endpoint (-1 when there was no answer).
  returned: always
  type: dict
  sample: {"/healthz": 200, "/readyz": 503, "/startupz": 200}
attempts:
  description: Probe rounds made.
  returned: always
  type: int
  sample: 7
elapsed:
  description: Seconds spent probing.
  returned: always
  type: float
  sample: 6.41
memory_bytes:
  description: Resident memory summed over every process of O(unit) (or of O(container)).
  returned: when O(unit) or O(container) is set and running
  type: int
  sample: 838860800
cpu_seconds:
  description: CPU time (user+system) summed over the processes of O(unit) (or of O(container)).
  returned: when O(unit) or O(container) is set and running
  type: float
  sample: 41.5
processes:
  description: Number of processes measured in the unit's cgroup (or the container's process tree).
  returned: when O(unit) or O(container) is set
  type: int
  sample: 3
main_pid:
  description: MainPID of O(unit), or the host PID of O(container)'s init (0 when stopped).
  returned: when O(unit) or O(container) is set
  type: int
  sample: 4242
restarts:
  description: NRestarts of O(unit), or RestartCount of O(container).
  returned: when O(unit) or O(container) is set
  type: int
  sample: 0
active_state:
  description: ActiveState of O(unit), or the status of O(container) (C(running), C(exited), C(absent)).
  returned: when O(unit) or O(container) is set
  type: str
  sample: active
channels_configured:
  description: Channels configured (deep check).
  returned: when O(deep=true) and the check succeeded
  type: int
  sample: 2
channels_connected:
  description: Channels connected (deep check).
  returned: when O(deep=true) and the check succeeded
  type: int
  sample: 2
channels_disconnected:
  description: Names of configured channels that are not connected (deep check).
  returned: when O(deep=true) and the check succeeded
  type: list
  elements: str
  sample: []
deep_source:
  description: What answered the deep check, C(rpc) (the gateway's admin-http-rpc route) or C(cli) (C(openclaw health --json)).
  returned: when O(deep=true) and the check succeeded
  type: str
  sample: rpc
sessions:
  description: Session count of the default agent (deep check).
  returned: when O(deep=true) and the check succeeded
  type: int
  sample: 12
log_tail:
  description: Last lines of O(log_file), only when unhealthy.
  returned: when unhealthy and O(log_file) is set
  type: list
  elements: str
  sample: ["2026-11-26T06:39:37Z [gateway] ready"]
"""

from ansible.module_utils.openclaw_health_check import check_health
from ansible.module_utils.openclaw_probe import probe_argument_spec
from ansible.module_utils.openclaw_spec import USER_SCOPE_NEEDS_USER, context_module, spec

# the options the gateway context fills (module_utils/openclaw_spec.py)
CONTEXT = ("unit", "scope", "user", "cli", "node_bin_dir", "config_path", "state_dir", "token_file", "port",
           "run_as", "container", "engine", "log_file")


def main():
    module = context_module(
        spec(
            "service", "cli", "state_dir", "token_file", "engine",
            **probe_argument_spec(),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=120),
            interval=dict(type="float", default=1.0),
            expect_version=dict(type="str"),
            log_file=dict(type="path"),
            log_lines=dict(type="int", default=20),
            fail_on_unhealthy=dict(type="bool", default=True),
            deep=dict(type="bool", default=False),
            run_as=dict(type="str"),
            deep_timeout=dict(type="int", default=10),
            container=dict(type="str"),
        ),
        CONTEXT,
        context_required_if=[USER_SCOPE_NEEDS_USER],
        supports_check_mode=True,
    )
    result = check_health(module)
    if result["healthy"] or not module.params["fail_on_unhealthy"]:
        module.exit_json(**result)
    module.fail_json(**result)


if __name__ == "__main__":
    main()
