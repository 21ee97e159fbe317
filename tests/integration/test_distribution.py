"""The two ways the toolkit reaches operators who do not run it from this checkout, proven on one real podman systemd
host over SSH with sudo (openclaw 2026.9.6 pre-installed, so the deploy renders, starts and gates the real gateway
without the 650 MB install):

- **the collection**: `make collection`'s tarball installed with `ansible-galaxy collection install` into a scratch
  path, with an empty ansible.cfg (nothing of this repository on a search path); `ansible-playbook openclaw.ops.deploy`
  deploys the host, and a playbook of the operator's own that uses fully qualified names only (module
  `openclaw.ops.openclaw_health`, role `openclaw.ops.openclaw_gateway` for the paths) health-checks it;
- **the execution environment**: the image `make ee` builds from execution-environment.yml (scripts/build-ee.sh),
  run the way AWX runs a job: `ansible-runner run --process-isolation` with the project copied into the private data
  dir, the inventory beside it and the SSH key as runner's `env/ssh_key` (loaded into an ssh-agent inside the
  container); health.yml inside it reaches the host and reports it ready on 2026.9.6."""

import json
import os
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from podman_host import BIN, ENV, ROOT, PodmanHost, sh

TOKEN = "distribution-test-token-0123456789abcdef0123"
VERSION = "2026.9.6"


def recap(out, name):
    line = next(line for line in out.splitlines() if line.startswith(f"{name} ") and "ok=" in line)
    return {k: int(v) for k, v in (f.split("=") for f in line.split(":", 1)[1].split())}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("distribution")
    with PodmanHost(prefix="openclaw-dist", primed=VERSION) as h:
        inv = h.inventory(tmp, openclaw_gateway_token=TOKEN, openclaw_gateway_service_scope="system",
                          openclaw_gateway_ready_timeout=300)
        yield h, inv, tmp


@pytest.fixture(scope="module")
def collection_env(host):
    """The collection installed into a scratch path; an environment with no ANSIBLE_* of this repository."""
    _, _, tmp = host
    work = tmp / "collection"
    work.mkdir()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build-collection.py"), "--out", str(work / "build")],
                   check=True, capture_output=True, text=True, timeout=300)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    (work / "ansible.cfg").write_text("[defaults]\nstdout_callback = default\n[ssh_connection]\npipelining = true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(work / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1", PATH=f"{BIN}:{env.get('PATH', '')}", PWD=str(work),
               CONTAINERS_CONF=ENV["CONTAINERS_CONF"])
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(work / "collections"),
                    str(work / "build" / "dist" / f"openclaw-ops-{version}.tar.gz")],
                   check=True, capture_output=True, text=True, cwd=work, env=env, timeout=120)
    return work, env


def test_fqcn_deploy_and_health_from_the_installed_collection(host, collection_env):
    h, inv, _ = host
    work, env = collection_env

    def play(*argv):
        res = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), *argv], capture_output=True, text=True,
                             cwd=work, env=env, timeout=900)
        assert res.returncode == 0, f"{argv}: rc {res.returncode}\n{res.stdout[-5000:]}\n{res.stderr[-2000:]}"
        return res.stdout

    out = play("openclaw.ops.deploy")
    assert recap(out, h.name)["failed"] == 0 and recap(out, h.name)["changed"] > 0
    assert f"check /startupz reports {VERSION}" in out  # the collection's role gated the real gateway
    # the unit came from the collection's role (no checkout on any search path)
    assert h.run("systemctl is-active openclaw-gateway.service").stdout.strip() == "active"

    site = work / "site.yml"  # the operator's own playbook: fully qualified names only
    site.write_text(yaml.safe_dump([{
        "name": "Health of the gateways, by FQCN", "hosts": "openclaw", "become": True, "gather_facts": False,
        "tasks": [
            {"name": "Resolve the gateway's paths", "ansible.builtin.include_role": {
                "name": "openclaw.ops.openclaw_gateway", "tasks_from": "facts.yml", "public": True}},
            {"name": "Ask the gateway", "register": "health", "openclaw.ops.openclaw_health": {
                "port": "{{ openclaw_gateway_paths.port }}", "expect_version": VERSION}},
            {"name": "Check the answer", "ansible.builtin.assert": {
                "that": ["health.healthy", "health.ready", f"health.version == '{VERSION}'"]}},
        ]}], sort_keys=False))
    out = play(str(site))
    assert recap(out, h.name)["failed"] == 0 and recap(out, h.name)["changed"] == 0
    assert "All assertions passed" in out


def test_health_inside_the_execution_environment_the_awx_way(host, tmp_path):
    """After the deploy above: health.yml, run in the EE, finds the gateway ready."""
    h, inv, _ = host
    image = sh(str(ROOT / "scripts" / "build-ee.sh"), timeout=1800).stdout.strip().splitlines()[-1]
    # an AWX job: the project (what a project sync checks out), the inventory and the machine credential
    pdd = tmp_path / "job"
    project = pdd / "project"
    tracked = sh("git", "-C", str(ROOT), "ls-files", "-z").stdout.split("\0")
    for rel in filter(None, tracked):
        if rel.split("/", 1)[0] in ("tests", "docs", "bench", "molecule", "collection") or not (ROOT / rel).exists():
            continue
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, project / rel)
    # a playbook inside the EE must not reach back into this checkout: the key is runner's, not a path of ours
    hosts = yaml.safe_load(inv.read_text())
    ssh_key = hosts["openclaw"]["vars"].pop("ansible_ssh_private_key_file")
    for var in ("openclaw_nodejs_mirror_url", "openclaw_nodejs_controller_cache_dir"):
        hosts["openclaw"]["vars"].pop(var)  # the host has Node.js (primed image): no download from the controller
    (pdd / "inventory").mkdir(parents=True)
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (pdd / "env").mkdir()
    (pdd / "env" / "envvars").write_text(yaml.safe_dump({"ANSIBLE_NOCOLOR": "1"}))  # job settings, as AWX passes them
    shutil.copy2(ssh_key, pdd / "env" / "ssh_key")
    env = dict(ENV, PATH=f"{BIN}:{os.environ['PATH']}")
    res = subprocess.run([str(BIN / "ansible-runner"), "run", str(pdd), "-p", "health.yml", "--ident", "health",
                          "--process-isolation", "--process-isolation-executable", "podman",
                          "--container-image", image,
                          # the host's sshd is published on the controller's loopback
                          "--container-option=--network=host",
                          # the image runs as uid 1000 (ansible-builder's USER); under rootful podman that user cannot
                          # read the job directory runner writes as root (rootless podman and AWX map the owner)
                          "--container-option=--user=0"],
                         capture_output=True, text=True, env=env, timeout=600)
    artifacts = pdd / "artifacts" / "health"
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else res.stdout
    assert res.returncode == 0, f"rc {res.returncode}\n{stdout[-5000:]}\n{res.stderr[-2000:]}"
    command = json.loads((artifacts / "command").read_text())["command"]
    assert command[:2] == ["podman", "run"] and image in command, command  # it ran in the EE container
    assert recap(stdout, h.name)["failed"] == 0 and recap(stdout, h.name)["unreachable"] == 0
    # health.yml's report, written inside the container into the job's project directory
    report = json.loads((project / "reports" / "health" / "health.json").read_text())
    assert [(r["host"], r["healthy"], r["ready"], r["version"]) for r in report["hosts"]] == [(h.name, True, True, VERSION)]
    # the ansible-core inside the image is the one execution-environment.yml installs, not the controller's
    version = sh("podman", "run", "--rm", "--entrypoint", "ansible", image, "--version").stdout.splitlines()[0]
    assert version.startswith("ansible [core 2.") and "ansible-runner" not in version, version
