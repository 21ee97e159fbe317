"""The compose path of the token rotation (module_utils/openclaw_token_rotation.py): the secret file is rewritten in
place (its inode is what the container's bind mount holds) and the reload runs inside the container with the old
token on stdin, never in the engine's argv."""

import os

from ansible.module_utils.openclaw_token_rotation import Rotator


class FakeModule:
    def __init__(self, params):
        self.params, self.calls, self.no_log_values, self.check_mode = params, [], set(), False

    def run_command(self, argv, data=None, **_kw):
        self.calls.append((argv, data))
        return 0, '{"ok": true}', ""


def params(tmp_path, **extra):
    return dict(dict(source="file", token_file=str(tmp_path / "gateway.token"), config_path=str(tmp_path / "c.json"),
                     owner="1000", group="1000", port=18879, container="openclaw-gateway", engine="podman",
                     token=None, return_token=False, accept_timeout=5, marker_dir=None), **extra)


def test_the_secret_file_is_rewritten_in_place(tmp_path):
    secret = tmp_path / "gateway.token"
    secret.write_text("old-token-0123456789abcdef0123456789abcdef\n")
    inode = secret.stat().st_ino
    Rotator(FakeModule(params(tmp_path))).write_token("new-token-0123456789abcdef0123456789abcdef")
    assert secret.read_text() == "new-token-0123456789abcdef0123456789abcdef"
    assert secret.stat().st_ino == inode and not [p for p in os.listdir(tmp_path) if p.startswith(".openclaw-token-")]


def test_the_reload_runs_in_the_container_with_the_old_token_on_stdin(tmp_path):
    m = FakeModule(params(tmp_path, engine="docker"))
    old = "old-token-0123456789abcdef0123456789abcdef"
    Rotator(m).reload(old)
    (argv, data), = m.calls
    assert argv[:5] == ["docker", "exec", "-i", "openclaw-gateway", "sh"] and argv[-1] == "18879"
    assert data == old and not any(old in a for a in argv)
