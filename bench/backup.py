#!/usr/bin/env python3
"""Backup and restore throughput on a 1 GiB mixed gateway state, in one run.

The state is built once and cached in .cache/bench-backup/state: a fresh state directory made by the REAL gateway
(tests/real_gateway.py, stopped before copying) plus ~400 MB of compressible text in workspace/, ~400 MB of
incompressible media in media/ and ~200 MB of SQLite (four WAL agent databases full of rows). Then, on that same
state, each as a child process (wall time; peak RSS and CPU time from wait4()):

  (a) our backup: library/openclaw_backup.py run directly as a module (and again with threads=1)
  (b) our restore: library/openclaw_restore.py verify + extract_to
  (c) the handbook's script: `tar -czf` of the state directory, restore `tar -xzf`
  (d) the real gateway's `openclaw backup create --verify` and `openclaw backup restore --target`

Prints a table with the ratios against (d) and writes it to bench/results/backup-latest.txt.
Usage: .venv/bin/python bench/backup.py [--repeat N]   (N runs of each; the median is reported)
"""

import argparse
import itertools
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from real_gateway import OPENCLAW_VERSION, RealGateway, node_bin, openclaw_cli  # noqa: E402

CACHE = ROOT / ".cache" / "bench-backup"
STATE = CACHE / "state"
MB = 1_000_000
TEXT_BYTES = 400 * MB
MEDIA_BYTES = 400 * MB
SQLITE_DBS, SQLITE_BYTES_EACH = 4, 50 * MB
SEQ = itertools.count()
MODULE_RUNNER = ("import sys, runpy, ansible.module_utils as mu; mu.__path__.append(sys.argv.pop(1)); "
                 "runpy.run_path(sys.argv.pop(1), run_name='__main__')")


# --- the state ------------------------------------------------------------------------------------------------------

def words(rng, n):
    syllables = ["ka", "lo", "mi", "ren", "ta", "vo", "shi", "an", "el", "gor", "pu", "qui", "zen", "do", "ra", "ne"]
    return ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(n)]


def write_text(path, size, rng, vocab):
    """Markdown-ish notes and logs: headings, sentences, timestamps, JSON-looking lines (gzip -1 keeps ~30-40%)."""
    out, n = [], 0
    while n < size:
        kind = rng.random()
        if kind < 0.05:
            line = "## " + " ".join(rng.choices(vocab, k=4)).title()
        elif kind < 0.35:
            line = (f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                    f"{rng.randint(0, 59):02d}Z INFO session={rng.getrandbits(32):08x} " + " ".join(rng.choices(vocab, k=6)))
        elif kind < 0.5:
            line = json.dumps({"role": rng.choice(["user", "assistant"]), "id": rng.getrandbits(48),
                               "text": " ".join(rng.choices(vocab, k=10))})
        else:
            line = " ".join(rng.choices(vocab, k=rng.randint(6, 18))).capitalize() + "."
        out.append(line)
        n += len(line) + 1
    path.write_text("\n".join(out) + "\n")


def fill_sqlite(path, size, rng, vocab):
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, session TEXT NOT NULL, ts INTEGER NOT NULL, "
                "event_json TEXT NOT NULL)")
    con.execute("CREATE INDEX events_session ON events (session, ts)")
    sessions = [f"s-{rng.getrandbits(40):010x}" for _ in range(500)]
    while path.stat().st_size + (path.with_name(path.name + "-wal").stat().st_size
                                 if path.with_name(path.name + "-wal").exists() else 0) < size:
        rows = [(rng.choice(sessions), 1_790_000_000 + i,
                 json.dumps({"type": "message", "text": " ".join(rng.choices(vocab, k=40)), "n": rng.random()}))
                for i in range(5000)]
        con.executemany("INSERT INTO events (session, ts, event_json) VALUES (?, ?, ?)", rows)
        con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def build_state():
    if (STATE / ".bench-complete").exists():
        return
    partial = CACHE / "state.partial"
    shutil.rmtree(partial, ignore_errors=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    print("building the bench state (once) ...", flush=True)
    with RealGateway() as gw:
        time.sleep(3)  # let the gateway finish its start-up writes
        os.killpg(gw.proc.pid, 15)
        gw.proc.wait(timeout=60)
        shutil.copytree(gw.state, partial, symlinks=True)
        shutil.copy(gw.token_file, CACHE / "gateway.token")
    cfg_path = partial / "openclaw.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["secrets"]["providers"]["gatewaytoken"]["path"] = str(CACHE / "gateway.token")
    cfg["logging"]["file"] = str(CACHE / "openclaw.log")
    cfg_path.write_text(json.dumps(cfg, indent=2))
    rng = random.Random(20261126)
    vocab = words(rng, 6000)
    n = 0
    while n < TEXT_BYTES:  # many small notes and a few large logs
        size = rng.choice([rng.randint(2_000, 60_000)] * 3 + [rng.randint(1 * MB, 8 * MB)])
        f = partial / "workspace" / f"project-{n % 7}" / f"notes-{n:010d}.md"
        f.parent.mkdir(parents=True, exist_ok=True)
        write_text(f, min(size, TEXT_BYTES - n), rng, vocab)
        n += f.stat().st_size
    n = 0
    while n < MEDIA_BYTES:
        size = min(rng.randint(200_000, 12 * MB), MEDIA_BYTES - n)
        f = partial / "media" / "inbound" / f"{n:010d}.{rng.choice(['jpg', 'mp4', 'ogg', 'png', 'pdf'])}"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(os.urandom(size))
        n += size
    for i in range(SQLITE_DBS):
        fill_sqlite(partial / "agents" / f"bench-{i}" / "agent" / "openclaw-agent.sqlite", SQLITE_BYTES_EACH, rng, vocab)
    (partial / ".bench-complete").write_text(time.strftime("%Y-%m-%dT%H:%MZ\n", time.gmtime()))
    shutil.rmtree(STATE, ignore_errors=True)
    partial.rename(STATE)


def tree_bytes(path):
    total = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            p = os.path.join(dirpath, name)
            if os.path.isfile(p) and not os.path.islink(p):
                total += os.path.getsize(p)
                files += 1
    return total, files


# --- measuring ----------------------------------------------------------------------------------------------------

def measure(argv, env=None, cwd=None):
    """Run argv; return (seconds, peak RSS MB, CPU seconds, stdout). Peak RSS is wait4()'s ru_maxrss: the largest
    process among the child and the descendants it waited for."""
    out = tempfile.TemporaryFile()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    _pid, status, ru = os.wait4(proc.pid, 0)
    dt = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed rc={proc.returncode}: {text[-1500:]}")
    return dt, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime, text


def run_module(module, args, work):
    argf = work / f"{module}.args.json"
    argf.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": dict(args, _ansible_remote_tmp=str(work),
                                                             _ansible_keep_remote_files=False)}))
    dt, rss, cpu, text = measure([str(ROOT / ".venv" / "bin" / "python"), "-c", MODULE_RUNNER, str(ROOT / "module_utils"),
                                  str(ROOT / "library" / f"{module}.py"), str(argf)])
    res = json.loads(text[text.index("{"):])
    if res.get("failed"):
        raise RuntimeError(f"{module}: {res.get('msg')}")
    return dt, rss, cpu, res


def clean(*paths):
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def bench_ours(work, threads):
    out = work / f"ours-{next(SEQ)}"
    dt, rss, cpu, res = run_module("openclaw_backup", dict(state_dir=str(STATE), dest_dir=str(out), marker_dir="",
                                                           openclaw_version=OPENCLAW_VERSION, min_free_mb=1,
                                                           threads=threads), work)
    return dt, rss, cpu, os.path.getsize(res["path"]), res["path"], out


def bench_ours_restore(work, archive):
    target = work / f"ours-restored-{next(SEQ)}"
    dt, rss, cpu, _res = run_module("openclaw_restore", dict(archive=archive, state_dir=str(work / "unused"),
                                                             owner="root", group="root",
                                                             installed_version=OPENCLAW_VERSION,
                                                             extract_to=str(target)), work)
    return dt, rss, cpu, target


def bench_handbook(work):
    archive = work / f"handbook-{next(SEQ)}.tar.gz"
    dt, rss, cpu, _ = measure(["tar", "-czf", str(archive), "-C", str(STATE.parent), STATE.name])
    return dt, rss, cpu, archive.stat().st_size, archive


def bench_handbook_restore(work, archive):
    target = work / f"handbook-restored-{next(SEQ)}"
    target.mkdir()
    dt, rss, cpu, _ = measure(["tar", "-xzf", str(archive), "-C", str(target)])
    return dt, rss, cpu, target


def openclaw_env():
    return dict(os.environ, PATH=f"{node_bin()}:/usr/local/bin:/usr/bin:/bin", OPENCLAW_STATE_DIR=str(STATE),
                OPENCLAW_CONFIG_PATH=str(STATE / "openclaw.json"), HOME=str(CACHE / "home"))


def bench_openclaw(work, cli):
    out = work / f"openclaw-{next(SEQ)}"
    out.mkdir()
    dt, rss, cpu, text = measure([cli, "backup", "create", "--verify", "--json", "--output", str(out)],
                                 env=openclaw_env(), cwd=str(work))
    archives = [p for p in out.iterdir() if p.is_file()]
    if len(archives) != 1:
        raise RuntimeError(f"openclaw backup create left {archives}: {text[-500:]}")
    return dt, rss, cpu, archives[0].stat().st_size, str(archives[0]), out


def bench_openclaw_restore(work, cli, archive):
    target = work / f"openclaw-restored-{next(SEQ)}"
    dt, rss, cpu, _ = measure([cli, "backup", "restore", archive, "--target", str(target), "--json"],
                              env=openclaw_env(), cwd=str(work))
    return dt, rss, cpu, target


def median_run(n, fn, *args):
    """Run fn n times; return the run with the median time (cleaning up the others)."""
    runs = []
    for _ in range(n):
        runs.append(fn(*args))
    runs.sort(key=lambda r: r[0])
    keep = runs[len(runs) // 2]
    for r in runs:
        if r is not keep:
            clean(*[x for x in r[3:] if isinstance(x, Path)])
    return keep


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each measurement; the median is reported")
    opts = ap.parse_args()
    build_state()
    cli = str(openclaw_cli())
    (CACHE / "home").mkdir(exist_ok=True)
    state_bytes, state_files = tree_bytes(STATE)
    subprocess.run(["cat"] + [str(p) for p in STATE.rglob("*") if p.is_file()], stdout=subprocess.DEVNULL, check=True)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-", dir=CACHE))
    rows = {}
    try:
        r = median_run(opts.repeat, bench_openclaw, work, cli)
        rows["d_backup"] = r[:4]
        r2 = median_run(opts.repeat, bench_openclaw_restore, work, cli, r[4])
        rows["d_restore"] = r2[:3] + (tree_bytes(r2[3])[0],)
        clean(r[5], r2[3])

        r = median_run(opts.repeat, bench_ours, work, 2)
        rows["a_backup"] = r[:4]
        r2 = median_run(opts.repeat, bench_ours_restore, work, r[4])
        rows["b_restore"] = r2[:3] + (tree_bytes(r2[3])[0],)
        clean(r[5], r2[3])
        r = median_run(opts.repeat, bench_ours, work, 1)
        rows["a1_backup"] = r[:4]
        clean(r[5])

        r = median_run(opts.repeat, bench_handbook, work)
        rows["c_backup"] = r[:4]
        r2 = median_run(opts.repeat, bench_handbook_restore, work, r[4])
        rows["c_restore"] = r2[:3] + (tree_bytes(r2[3])[0],)
        clean(r[4], r2[3])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    labels = {
        "a_backup": "(a) openclaw_backup (threads=2)",
        "a1_backup": "(a) openclaw_backup (threads=1)",
        "c_backup": "(c) handbook tar -czf",
        "d_backup": "(d) openclaw backup create --verify",
        "b_restore": "(b) openclaw_restore verify+extract",
        "c_restore": "(c) handbook tar -xzf",
        "d_restore": "(d) openclaw backup restore --target",
    }
    lines = [f"backup bench {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())} on {os.cpu_count()} cores; "
             f"openclaw {OPENCLAW_VERSION}; state {state_bytes / MB:.0f} MB in {state_files} files "
             f"(text {TEXT_BYTES // MB} MB, media {MEDIA_BYTES // MB} MB, SQLite {SQLITE_DBS}x{SQLITE_BYTES_EACH // MB} MB); "
             f"median of {opts.repeat}",
             f"load average before {load_before[0]:.2f} {load_before[1]:.2f}, after {load_after[0]:.2f} "
             f"{load_after[1]:.2f} (machine shared)",
             "",
             f"{'':40s}{'seconds':>9s}{'MB/s':>8s}{'out MB':>12s}{'peak RSS MB':>13s}{'CPU s':>8s}"
             f"{'speed vs (d)':>14s}{'CPU vs (d)':>12s}{'RSS vs (d)':>12s}",
             "  (out MB: archive size for backups, bytes restored for restores; 'vs (d)' = (d)'s value / this row's "
             "for seconds and CPU, this row's / (d)'s for RSS)"]
    for group, ref in (("backup", "d_backup"), ("restore", "d_restore")):
        for key in [k for k in ("a_backup", "a1_backup", "c_backup", "d_backup", "b_restore", "c_restore", "d_restore")
                    if k.endswith(group)]:
            dt, rss, cpu, size = rows[key]
            rdt, rrss = rows[ref][0], rows[ref][1]
            rcpu = rows[ref][2]
            lines.append(f"{labels[key]:40s}{dt:9.1f}{state_bytes / MB / dt:8.1f}{size / MB:12.0f}{rss:13.0f}{cpu:8.1f}"
                         f"{rdt / dt:13.2f}x{rcpu / cpu:11.2f}x{rss / rrss:11.2f}x")
    lines += ["",
              "guarantees: (a)/(b) SQLite through the backup API + integrity_check, sha256 of every file in the manifest,",
              "  archive re-read and checked before the rename, restore re-verifies everything (sha256, integrity_check,",
              "  member paths) before unpacking; (c) copies live files (a WAL database can be torn), checks only that the",
              "  archive is non-empty; (d) node:sqlite backup(), --verify checks manifest, layout, gzip stream and SQLite",
              "  files but keeps no per-file checksum (an edited workspace file passes, see docs/openclaw-facts)."]
    text = "\n".join(lines) + "\n"
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "backup-latest.txt").write_text(text)


if __name__ == "__main__":
    main()
