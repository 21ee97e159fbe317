"""Fixtures of the module unit tests: a small state directory, an archive of it, and a fake run_command.

Unit tests only: the commands a module runs (systemctl, runuser openclaw ..., npm, age) are answered by `commands`,
which records every argv; nothing here proves that the real tools behave so (the integration and Molecule tests do).
"""

import grp
import os
import pwd
import sqlite3

import pytest
from ansible.module_utils import basic

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def make_state(path, note="v1"):
    """A state directory as the gateway lays it out: openclaw.json, a SQLite database, a workspace file."""
    (path / "state").mkdir(parents=True)
    (path / "workspace").mkdir()
    (path / "openclaw.json").write_text('{"gateway": {"port": 18789}}\n')
    (path / "workspace" / "notes.md").write_text(note + "\n")
    con = sqlite3.connect(path / "state" / "openclaw.sqlite")
    con.execute("CREATE TABLE t (v TEXT)")
    con.execute("INSERT INTO t VALUES (?)", (note,))
    con.execute("PRAGMA user_version = 7")
    con.commit()
    con.close()
    return path


@pytest.fixture
def state(tmp_path):
    return make_state(tmp_path / "state")


@pytest.fixture
def archive(run_module, tmp_path):
    """An archive written by openclaw_backup of a state holding `v1` (openclaw 2026.9.5)."""
    import openclaw_backup

    src = make_state(tmp_path / "archived-state")
    kind, res = run_module(openclaw_backup.main, dict(state_dir=str(src), dest_dir=str(tmp_path / "backups"),
                                                      marker_dir="", min_free_mb=0, openclaw_version="2026.9.5"))
    assert kind == "exit", res
    return res["path"]


class Commands:
    """Stands in for AnsibleModule.run_command: `answers` maps a word of the argv (the first that matches, in order)
    to (rc, stdout, stderr) or to a function of the argv returning that; anything else answers (0, "", ""). `envs` holds
    each call's environ_update."""

    def __init__(self):
        self.calls = []
        self.envs = []
        self.answers = {}

    def __call__(self, module, args, **kwargs):
        argv = [str(a) for a in args]
        self.calls.append(argv)
        self.envs.append(kwargs.get("environ_update") or {})
        for word, answer in self.answers.items():
            if word in argv:
                return answer(argv) if callable(answer) else answer
        return 0, "", ""

    def ran(self, word):
        return [c for c in self.calls if word in c]


@pytest.fixture
def commands(monkeypatch):
    fake = Commands()
    monkeypatch.setattr(basic.AnsibleModule, "run_command", lambda self, args, **kw: fake(self, args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path",
                        lambda self, name, required=False, opt_dirs=None: f"/usr/bin/{name}")
    return fake
