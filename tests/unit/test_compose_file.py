"""docker-compose.yml and Containerfile of the openclaw_gateway role's compose service manager, rendered by
Ansible from the role's real defaults and vars: golden files (UPDATE_GOLDEN=1 rewrites them), the settings the
issue asks for, the token never inline, and `podman-compose config` accepting the file. The file is run for
real by the `compose` Molecule scenario (tests/molecule/test_compose.py)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from role_render import render_templates

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "openclaw_gateway"
GOLDEN = Path(__file__).parent / "golden"
TOKEN = "golden-test-token-0123456789abcdef0123456789"
BASE = {"openclaw_gateway_service_manager": "compose"}


def render(tmp, cases):
    """Render (template, case vars) pairs with the role's defaults and vars."""
    return render_templates(tmp, {name: (template, {**BASE, **case, "openclaw_gateway_token": TOKEN})
                                  for name, (template, case) in cases.items()})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render(tmp_path_factory.mktemp("compose"), {
        "docker-compose.yml": ("docker-compose.yml.j2", {}),
        "Containerfile": ("Containerfile.j2", {}),
        # no CPU quota, another port and project
        "variant.yml": ("docker-compose.yml.j2", {"openclaw_gateway_cpu_quota": "", "openclaw_gateway_port": 28789,
                                                 "openclaw_gateway_compose_project": "gw2"}),
    })


@pytest.mark.parametrize("name", ["docker-compose.yml", "Containerfile"])
def test_matches_golden_file(rendered, name):
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(rendered[name].read_text())
    assert rendered[name].read_text() == golden.read_text(), f"{name} differs; rerun with UPDATE_GOLDEN=1 if intended"


def test_gateway_service_settings(rendered):
    doc = yaml.safe_load(rendered["docker-compose.yml"].read_text())
    assert doc["name"] == "openclaw"
    svc = doc["services"]["gateway"]
    assert svc["image"] == "localhost/openclaw-gateway:2026.9.6", "pinned tag"
    assert svc["ports"] == ["127.0.0.1:18789:18789"], "host mapping on loopback only"
    assert svc["user"] == "1000:1000" and svc["init"] is True
    assert svc["read_only"] is True and [t.split(":")[0] for t in svc["tmpfs"]] == ["/tmp"]
    assert svc["cap_drop"] == ["ALL"] and "cap_add" not in svc
    assert svc["security_opt"] == ["no-new-privileges:true"]
    assert svc["restart"] == "unless-stopped"
    assert "state:/home/node/.openclaw" in svc["volumes"] and doc["volumes"]["state"] == {"name": "openclaw-state"}
    assert "/opt/openclaw/compose/config/openclaw.json:/etc/openclaw/openclaw.json:ro" in svc["volumes"]
    hc = svc["healthcheck"]
    assert hc["test"][0] == "CMD" and "/healthz" in hc["test"][-1] and "j.ok === true" in hc["test"][-1]
    assert hc["start_period"] == "90s" and hc["interval"] == "30s"
    # the role's systemd limits, one model: MemoryMax=2G, MemoryHigh=1536M, CPUQuota=150%, TasksMax=512
    assert svc["mem_limit"] == "2g" and svc["mem_reservation"] == "1536m"
    assert svc["cpus"] == 1.5 and svc["pids_limit"] == 512
    assert svc["stop_signal"] == "SIGTERM" and svc["stop_grace_period"] == "30s"
    assert svc["logging"] == {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}}
    assert svc["hostname"] == "openclaw-gateway"


def test_token_is_a_secret_file_not_inline(rendered):
    text = rendered["docker-compose.yml"].read_text()
    assert TOKEN not in text
    doc = yaml.safe_load(text)
    svc = doc["services"]["gateway"]
    assert not [k for k in svc["environment"] if "TOKEN" in k.upper()]
    assert svc["secrets"] == [{"source": "openclaw_gateway_token", "target": "openclaw_gateway_token"}]
    assert doc["secrets"] == {"openclaw_gateway_token": {"file": "/opt/openclaw/compose/secrets/gateway.token"}}
    assert "env_file" not in svc


def test_variant_follows_the_variables(rendered):
    svc = yaml.safe_load(rendered["variant.yml"].read_text())["services"]["gateway"]
    assert svc["ports"] == ["127.0.0.1:28789:28789"] and "cpus" not in svc
    assert svc["container_name"] == "gw2-gateway" and "28789/healthz" in svc["healthcheck"]["test"][-1]


def test_containerfile_recipe(rendered):
    text = rendered["Containerfile"].read_text()
    assert "FROM docker.io/library/debian:12-slim" in text
    assert "openclaw@2026.9.6" in text and "USER 1000:1000" in text
    assert 'CMD ["openclaw", "gateway", "run"]' in text and "STOPSIGNAL SIGTERM" in text
    assert "OPENCLAW_STATE_DIR=/home/node/.openclaw" in text
    assert TOKEN not in text


@pytest.mark.parametrize("name", ["docker-compose.yml", "variant.yml"])
def test_podman_compose_accepts_it(rendered, name):
    # podman-compose comes with the test extra (next to this interpreter); a missing one is a failure, not a skip
    compose = shutil.which("podman-compose") or str(Path(sys.executable).parent / "podman-compose")
    res = subprocess.run([compose, "-f", str(rendered[name]), "config"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    assert "127.0.0.1:" in res.stdout
