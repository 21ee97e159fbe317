"""Reading a gateway's log on the host for the openclaw_logs module (stdlib + module_utils; target side).

The live log and its rotated files (gzip read transparently), filtered by level, pattern and time, and masked with
the rules of openclaw_redact before a line leaves the host.
"""

import glob
import gzip
import json
import os
import re

from ansible.module_utils.openclaw_errors import ModuleFailure
from ansible.module_utils.openclaw_redact import read_secrets, redact_line

LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def log_files(path):
    """The files that exist: rotated ones first (dateext names sort by time), then the live file."""
    return [f for f in sorted(glob.glob(path + "-*")) + [path] if os.path.isfile(f)]


def records(files):
    for f in files:
        opener = gzip.open if f.endswith(".gz") else open
        try:
            with opener(f, "rt", errors="replace") as fh:
                for line in fh:
                    yield line.rstrip("\n")
        except OSError:
            continue


def select(lines, count, level=None, pattern=None, since=None):
    """The last `count` lines that pass the level floor, the pattern and the time (lines that are not JSON have no
    level, counted as INFO, and no time, so `since` drops them)."""
    rx = re.compile(pattern) if pattern else None
    floor = LEVELS.index(level.upper()) if level else 0
    out = []
    for line in lines:
        meta = {}
        try:
            meta = json.loads(line).get("_meta", {})
        except (ValueError, AttributeError):
            pass
        if since and str(meta.get("date", "")) < since:
            continue
        name = str(meta.get("logLevelName", "INFO")).upper()
        if floor and (LEVELS.index(name) if name in LEVELS else 0) < floor:
            continue
        if rx and not rx.search(line):
            continue
        out.append(line)
    return out[-count:] if count > 0 else []


def read_logs(p):
    """The module's result for its parameters `p`; a pattern that is not a regular expression raises ModuleFailure."""
    try:
        re.compile(p["pattern"] or "")
    except re.error as exc:
        raise ModuleFailure(f"pattern {p['pattern']!r} is not a regular expression: {exc}.") from None
    files = log_files(p["path"])
    chosen = select(records(files), p["lines"], p["level"], p["pattern"], p["since"])
    secrets = read_secrets(p["token_file"])
    masked = [redact_line(line, secrets) for line in chosen]
    return dict(changed=False, lines=masked, masked=sum(a != b for a, b in zip(chosen, masked, strict=True)), files=files)
