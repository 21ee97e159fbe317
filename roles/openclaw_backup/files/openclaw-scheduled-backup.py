#!/usr/bin/env python3
"""Scheduled OpenClaw backup (systemd timer or launchd), without Ansible on the host.

Runs the very same openclaw_backup module that backup.yml runs, from a bundle the role installs (the module, its
module_utils and Ansible's own module_utils: what Ansible itself ships to a host for every task), once per backup set,
then applies each set's retention (the newest archive of a set always stays): the host library's rule, which backup.yml's
filter applies too (module_utils/openclaw_host.py, from the same bundle). Exit status 1 if any set failed, so the unit
shows failed and the metrics' backup-success marker stays old (OpenClawBackupStale fires).

Usage: openclaw-scheduled-backup.py /etc/openclaw-ops/backup.json
"""

import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "runtime")
# the module_utils the bundle holds, in the repository's layout or the collection's: appended, so only what is not
# found elsewhere (openclaw_host) comes from there
sys.path += [d for d in (os.path.join(RUNTIME, "ansible", "module_utils"),
                         os.path.join(RUNTIME, "ansible_collections", "openclaw", "ops", "plugins", "module_utils"))
             if os.path.isfile(os.path.join(d, "openclaw_host.py"))]
from openclaw_host import prune_archives  # noqa: E402


def log(msg):
    print(msg, flush=True)


def active_version(install_root):
    """The version `current` points at (an upgrade may have moved it since the schedule was installed)."""
    try:
        return os.path.basename(os.readlink(os.path.join(install_root, "current")))
    except OSError:
        return None


def run_module(args):
    fd, path = tempfile.mkstemp(prefix="openclaw-backup-args-")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump({"ANSIBLE_MODULE_ARGS": args}, fh)
        env = dict(os.environ, PYTHONPATH=RUNTIME)
        res = subprocess.run([sys.executable, os.path.join(RUNTIME, "openclaw_backup.py"), path], env=env,
                             capture_output=True, text=True, timeout=6 * 3600, check=False)
    finally:
        os.unlink(path)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"failed": True, "msg": (res.stderr or res.stdout).strip()[-500:] or f"exit {res.returncode}"}


def prune(dest_dir, name, keep_days, now):
    """Remove the archives of set `name` past retention (the newest stays, however old); their file names."""
    return prune_archives(dest_dir, name, keep_days, now)


def main(config_path):
    with open(config_path) as fh:
        cfg = json.load(fh)
    version = active_version(cfg["install_root"])
    failures = 0
    for s in cfg["sets"]:
        args = dict(state_dir=cfg["state_dir"], dest_dir=cfg["dest_dir"], classes=s["classes"],
                    name_prefix=f"openclaw-{s['name']}", lock_timeout=cfg.get("lock_timeout", 600),
                    marker_dir=cfg.get("marker_dir", "/var/lib/openclaw-ops/markers"))
        if version:
            args["openclaw_version"] = version
        if cfg.get("encrypt_recipients"):
            args["encrypt_recipients"] = cfg["encrypt_recipients"]
        started = time.monotonic()
        res = run_module(args)
        if res.get("failed"):
            failures += 1
            log(f"FAILED {s['name']}: {res.get('msg')}")
            continue
        log(f"ok {s['name']}: {res.get('path')} ({res.get('files')} files, {res.get('size', 0) / 1048576:.2f} MB, "
            f"{time.monotonic() - started:.1f} s)")
        removed = prune(cfg["dest_dir"], s["name"], s["keep_days"], time.time())
        if removed:
            log(f"pruned {s['name']}: {', '.join(removed)}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
