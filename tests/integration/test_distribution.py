"""The two ways the toolkit reaches operators who do not run it from this checkout, and the fleet page, proven on two
real podman systemd hosts over SSH with sudo (openclaw 2026.9.6 pre-installed, so the deploy renders, starts and
gates the real gateway without the 650 MB install):

- **the collection**: `make collection`'s tarball installed with `ansible-galaxy collection install` into a scratch
  path, with an empty ansible.cfg (nothing of this repository on a search path); `ansible-playbook openclaw.ops.deploy`
  deploys the hosts, and a playbook of the operator's own that uses fully qualified names only (module
  `openclaw.ops.openclaw_health`, role `openclaw.ops.openclaw_gateway` for the paths) health-checks them;
- **the execution environment**: the image `make ee` builds from execution-environment.yml (scripts/build-ee.sh),
  run the way AWX runs a job: `ansible-runner run --process-isolation` with the project copied into the private data
  dir, the inventory beside it and the SSH key as runner's `env/ssh_key` (loaded into an ssh-agent inside the
  container); health.yml inside it reaches the hosts and reports them ready on 2026.9.6;
- **the HTML fleet page** of health.yml, on the same two hosts: one backed up, checked with check-daily.yml and
  probed with health.yml three times (a crash restart of the other gateway in between); Debian's headless Chromium
  loads reports/health/index.html and its DOM must show both hosts with their version, state, a memory line over the
  three runs, the backup age and the daily checklist rows. The screenshot stays in the test's output directory (and in
  reports/health/fleet-report.png of the checkout) for a look by eye."""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib

import pytest
import yaml
from podman_host import BIN, ENV, ROOT, PodmanHost, sh

TOKEN = "distribution-test-token-0123456789abcdef0123"
VERSION = "2026.9.6"
WAIT_READY = ("timeout 240 python3 -c 'import time, urllib.request\n"
              "while True:\n"
              " try:\n"
              "  urllib.request.urlopen(\"http://127.0.0.1:18789/readyz\", timeout=2); break\n"
              " except Exception: time.sleep(1)'")


def recap(out, name):
    line = next(line for line in out.splitlines() if line.startswith(f"{name} ") and "ok=" in line)
    return {k: int(v) for k, v in (f.split("=") for f in line.split(":", 1)[1].split())}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """Two hosts for the whole module (one key pair): the collection deploys both, the EE checks them, the HTML page
    shows them."""
    tmp = tmp_path_factory.mktemp("distribution")
    (tmp / "ssh").mkdir()
    with PodmanHost(prefix="openclaw-dist1", primed=VERSION, ssh_dir=tmp / "ssh") as one, \
            PodmanHost(prefix="openclaw-dist2", primed=VERSION, ssh_dir=tmp / "ssh") as two:
        inv = one.inventory(tmp, openclaw_gateway_token=TOKEN, openclaw_gateway_service_scope="system",
                            openclaw_gateway_ready_timeout=300)
        inv.write_text(inv.read_text().replace(f"    {one.name}:\n", f"    {one.name}:\n      ansible_port: {one.ssh_port}\n"
                                               f"    {two.name}:\n      ansible_port: {two.ssh_port}\n"))
        yield one, two, inv, tmp


@pytest.fixture(scope="module")
def collection_env(fleet):
    """The collection installed into a scratch path; an environment with no ANSIBLE_* of this repository."""
    tmp = fleet[3]
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


def test_fqcn_deploy_and_health_from_the_installed_collection(fleet, collection_env):
    h, two, inv, _ = fleet
    work, env = collection_env

    def play(*argv):
        res = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inv), *argv], capture_output=True, text=True,
                             cwd=work, env=env, timeout=900)
        assert res.returncode == 0, f"{argv}: rc {res.returncode}\n{res.stdout[-5000:]}\n{res.stderr[-2000:]}"
        return res.stdout

    out = play("openclaw.ops.deploy")
    assert recap(out, h.name)["failed"] == 0 and recap(out, h.name)["changed"] > 0
    assert recap(out, two.name)["failed"] == 0
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


def test_health_inside_the_execution_environment_the_awx_way(fleet, tmp_path):
    """After the deploy above: health.yml, run in the EE, finds the gateways ready."""
    h, two, inv, _ = fleet
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
    assert sorted((r["host"], r["healthy"], r["ready"], r["version"]) for r in report["hosts"]) == \
        sorted((n, True, True, VERSION) for n in (h.name, two.name))
    # the ansible-core inside the image is the one execution-environment.yml installs, not the controller's
    version = sh("podman", "run", "--rm", "--entrypoint", "ansible", image, "--version").stdout.splitlines()[0]
    assert version.startswith("ansible [core 2.") and "ansible-runner" not in version, version


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is installed by scripts/prepare-machine.sh (make setup)"
    return path


def play(inv, name, *args):
    res = sh(str(BIN / "ansible-playbook"), str(ROOT / name), "-i", str(inv), *args, check=False, cwd=str(ROOT),
             timeout=900)
    assert res.returncode == 0, f"{name}: rc {res.returncode}\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}"
    return res.stdout


def test_the_html_report_renders_every_host_in_headless_chromium(fleet):
    one, two, inv, tmp = fleet
    reports, checks = tmp / "reports", tmp / "checks"
    report_vars = ["-e", f"openclaw_health_report_dir={reports}", "-e", f"openclaw_check_report_dir={checks}"]
    play(inv, "deploy.yml")
    play(inv, "backup.yml", "-l", one.name)
    play(inv, "check-daily.yml", "-e", f"openclaw_check_report_dir={checks}")
    play(inv, "health.yml", *report_vars)
    # a crash systemd restarts (NRestarts counts those, not an operator's restart); ready again before the next run
    two.run("kill -9 $(systemctl show -p MainPID --value openclaw-gateway.service)")
    two.run(WAIT_READY)
    play(inv, "health.yml", *report_vars)
    play(inv, "health.yml", *report_vars)
    page = reports / "index.html"
    html = page.read_text()
    # self-contained: no script, no external asset
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:)?//""", html)

    shot = tmp / "fleet-report.png"
    argv = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,900"]
    dom = subprocess.run([*argv, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    subprocess.run([*argv, f"--screenshot={shot}", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shot.stat().st_size > 20000, "the screenshot is a blank page"
    keep = ROOT / "reports" / "health"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "fleet-report.png")
    print(f"screenshot: {shot} (also {keep / 'fleet-report.png'})")

    sections = re.findall(r'<section class="host( fail)?" id="host-[^"]+">(.*?)</section>', dom, re.S)
    assert len(sections) == 2, dom[:3000]
    by_name = {re.search(r'<span class="name">([^<]+)</span>', body).group(1): (fail, body) for fail, body in sections}
    assert set(by_name) == {one.name, two.name}
    for fail, body in by_name.values():
        assert not fail and '<span class="badge">OK</span>' in body, body
        assert f'<dd class="version">{VERSION}</dd>' in body
        line = re.search(r'<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="([^"]+)"', body)
        assert line and len(line.group(1).split()) == 3, body  # memory over the three runs
        assert re.search(r'<span class="memory">[1-9]\d+ MB</span>', body), body
        assert '<table class="checks">' in body and 'class="PASS">PASS<' in body  # the daily checklist rows
    assert re.search(r'<dd class="backup">\d+ (s|min) ago</dd>', by_name[one.name][1])
    assert '<dd class="backup">never</dd>' in by_name[two.name][1]
    restarts = re.search(r'<span class="restarts">(\d+)</span>', by_name[two.name][1])
    assert restarts and int(restarts.group(1)) >= 1, by_name[two.name][1]
    assert "2 of 2 hosts healthy" in dom and "history of 3 run(s)" in dom
