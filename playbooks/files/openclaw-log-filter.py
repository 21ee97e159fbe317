#!/usr/bin/env python3
"""Filters an OpenClaw gateway log (JSON lines) on the host: last N lines, optionally only
lines at or above a level, matching a regex, or newer than an ISO time. Stdlib only."""

import argparse
import glob
import gzip
import json
import re
import sys

LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def records(path):
    files = sorted(glob.glob(path + "-*")) + [path]  # rotated first (dateext sorts by time), then live
    for f in files:
        opener = gzip.open if f.endswith(".gz") else open
        try:
            with opener(f, "rt", errors="replace") as fh:
                yield from fh
        except OSError:
            continue


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--level", choices=[lv.lower() for lv in LEVELS])
    ap.add_argument("--pattern")
    ap.add_argument("--since", help="ISO time, e.g. 2026-11-26T06:00")
    a = ap.parse_args()
    rx = re.compile(a.pattern) if a.pattern else None
    floor = LEVELS.index(a.level.upper()) if a.level else 0
    out = []
    for line in records(a.log):
        line = line.rstrip("\n")
        meta = {}
        try:
            meta = json.loads(line).get("_meta", {})
        except (ValueError, AttributeError):
            pass
        if a.since and str(meta.get("date", "")) < a.since:
            continue
        level = str(meta.get("logLevelName", "INFO")).upper()
        if floor and (LEVELS.index(level) if level in LEVELS else 0) < floor:
            continue
        if rx and not rx.search(line):
            continue
        out.append(line)
    sys.stdout.write("\n".join(out[-a.lines:]) + ("\n" if out else ""))


if __name__ == "__main__":
    main()
