"""The HTML fleet report of health.yml, rendered by a real browser: a two-host sandbox (real podman systemd hosts over
SSH with sudo, openclaw 2026.9.6 pre-installed) is deployed, backed up on one host, checked with check-daily.yml and
probed with health.yml three times (a restart of one gateway in between); then Debian's headless Chromium loads
reports/health/index.html and its DOM must show both hosts with their version, state, a memory line over the three
runs, the backup age and the daily checklist rows. The screenshot stays in the test's output directory (and in
reports/health/fleet-report.png of the checkout) for a look by eye."""

import re
import shutil
import subprocess

import pytest
from podman_host import BIN, ROOT, PodmanHost, sh

TOKEN = "fleet-report-token-0123456789abcdef0123456789"
VERSION = "2026.9.6"
WAIT_READY = ("timeout 240 python3 -c 'import time, urllib.request\n"
              "while True:\n"
              " try:\n"
              "  urllib.request.urlopen(\"http://127.0.0.1:18789/readyz\", timeout=2); break\n"
              " except Exception: time.sleep(1)'")


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is installed by scripts/prepare-machine.sh (make setup)"
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet")
    (tmp / "ssh").mkdir()  # one key pair for both hosts
    with PodmanHost(prefix="openclaw-rep1", primed=VERSION, ssh_dir=tmp / "ssh") as one, \
            PodmanHost(prefix="openclaw-rep2", primed=VERSION, ssh_dir=tmp / "ssh") as two:
        inv = one.inventory(tmp, openclaw_gateway_token=TOKEN, openclaw_gateway_service_scope="system",
                            openclaw_gateway_ready_timeout=300)
        text = inv.read_text().replace(f"    {one.name}:\n", f"    {one.name}:\n      ansible_port: {one.ssh_port}\n"
                                       f"    {two.name}:\n      ansible_port: {two.ssh_port}\n")
        inv.write_text(text)
        yield one, two, inv, tmp


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
