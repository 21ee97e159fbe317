"""`openclaw-ops`: run the project's root playbooks through ansible-runner, for CI.

    openclaw-ops deploy  -i inventories/production [--limit gw1] [-e k=v] [--json-report report.json]
    openclaw-ops upgrade -i inventories/production -e openclaw_gateway_version=2026.9.6 --json-report upgrade.json

Prints one line per host per task result while the playbook runs, a per-host table at the end, writes
a JSON report (see `openclaw_ops.report`) and exits 0 only when every host succeeded:
0 = all hosts ok, 1 = a host failed or was unreachable / the playbook failed, 2 = usage or setup error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import __version__
from .report import ReportBuilder, module_name, report_ok, status_of, table, task_label

# subcommand -> root playbook (one-line facades over playbooks/)
PLAYBOOKS = {
    "deploy": "deploy.yml",
    "upgrade": "upgrade.yml",
    "rollback": "rollback.yml",
    "backup": "backup.yml",
    "restore": "restore.yml",
    "health": "health.yml",
    "rotate-token": "rotate-token.yml",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def find_project_dir(explicit: str | None) -> Path | None:
    """The directory holding ansible.cfg and the root playbooks: --project-dir, $OPENCLAW_OPS_PROJECT_DIR,
    the current directory, or the checkout this package was installed from (editable install)."""
    candidates = [explicit, os.environ.get("OPENCLAW_OPS_PROJECT_DIR"), os.getcwd(), Path(__file__).resolve().parents[1]]
    for cand in candidates:
        if cand and (Path(cand) / "ansible.cfg").is_file() and (Path(cand) / "deploy.yml").is_file():
            return Path(cand).resolve()
    return None


def parse_args(argv=None) -> argparse.Namespace:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory", action="append", required=True, metavar="INVENTORY",
                        help="inventory path (file or directory) or host list; repeatable")
    common.add_argument("-l", "--limit", help="further limit the hosts (Ansible pattern)")
    common.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="passed to ansible-playbook unchanged: k=v, JSON/YAML, or @file; repeatable")
    common.add_argument("--json-report", metavar="FILE", help="write the per-host JSON report here")
    common.add_argument("--log", metavar="FILE", help="write the full ansible-playbook output here")
    common.add_argument("--check", action="store_true", help="check mode (predict changes, change nothing)")
    common.add_argument("--diff", action="store_true", help="show file differences")
    common.add_argument("--timeout", type=int, metavar="SECONDS", help="stop the playbook after this long (counts as failure)")
    common.add_argument("--project-dir", metavar="DIR", help="the openclaw-ops checkout (default: found automatically)")
    common.add_argument("--artifact-dir", metavar="DIR", help="keep ansible-runner's artifacts (events, stdout) here")
    common.add_argument("-v", "--verbose", action="store_true", help="also print skipped tasks")

    parser = argparse.ArgumentParser(prog="openclaw-ops", description="Run openclaw-ops playbooks for CI (ansible-runner).")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {"deploy": "deploy or converge the gateway (deploy.yml)", "upgrade": "upgrade with automatic rollback (upgrade.yml)",
             "rollback": "roll back to the previous version (rollback.yml)", "backup": "consistent state backup (backup.yml)",
             "restore": "restore state from an archive (restore.yml)", "health": "fleet health (health.yml)",
             "rotate-token": "rotate the gateway token (rotate-token.yml)"}
    for name in PLAYBOOKS:
        sub.add_parser(name, parents=[common], help=helps[name])
    return parser.parse_args(argv)


class Progress:
    """Live progress: one line per host per task result."""

    MARK = {"ok": "ok", "changed": "changed", "failed": "FAILED", "ignored": "failed (ignored)",
            "unreachable": "UNREACHABLE", "skipped": "skipped", "unhealthy": "UNHEALTHY"}

    def __init__(self, stream, verbose: bool, builder: ReportBuilder):
        self.stream, self.verbose, self.builder = stream, verbose, builder
        self.t0 = time.monotonic()
        self.width = 12

    def __call__(self, event: dict) -> bool:
        self.builder.add(event)
        status = status_of(event)
        if status is None or (status == "skipped" and not self.verbose):
            return True
        data = event.get("event_data") or {}
        host = data.get("host", "?")
        res = data.get("res") if isinstance(data.get("res"), dict) else {}
        if status == "ok" and module_name(data) == "openclaw_health" and res.get("healthy") is False:
            status = "unhealthy"  # health.yml probes without failing the task; the report marks the host failed
        self.width = max(self.width, len(host))
        line = f"[{time.monotonic() - self.t0:7.1f}s] {host.ljust(self.width)}  {self.MARK[status]:<8}  {task_label(data)}"
        if status in ("failed", "unreachable", "unhealthy"):
            msg = "(output hidden: no_log task)" if "censored" in res else str(res.get("msg") or "").strip()
            if status == "unhealthy":
                msg = "; ".join(res.get("problems") or [])
            if msg:
                line += "\n" + "\n".join("      | " + part for part in msg.splitlines()[:12])
        print(line, file=self.stream, flush=True)
        return True  # keep the event in runner's artifacts


def resolve_inventory(item: str) -> str:
    """Inventory paths are relative to where the command was typed (runner's cwd is the project)."""
    return str(Path(item).resolve()) if Path(item).exists() else item


def runner_cmdline(args: argparse.Namespace) -> str:
    parts = []
    for extra in args.extra_vars:
        if extra.startswith("@") and Path(extra[1:]).exists():
            extra = "@" + str(Path(extra[1:]).resolve())
        parts += ["-e", extra]
    if args.check:
        parts.append("--check")
    if args.diff:
        parts.append("--diff")
    return " ".join(shlex.quote(p) for p in parts)


def locate(args: argparse.Namespace) -> tuple[Path, str] | None:
    """(checkout, root playbook) for the command, or None after saying on stderr what is missing."""
    project = find_project_dir(args.project_dir)
    if project is None:
        print("openclaw-ops: cannot find the openclaw-ops checkout (ansible.cfg + deploy.yml); "
              "run from it or pass --project-dir", file=sys.stderr)
        return None
    playbook = PLAYBOOKS[args.command]
    if not (project / playbook).is_file():
        print(f"openclaw-ops: {project / playbook} does not exist in this checkout", file=sys.stderr)
        return None
    missing = [i for i in args.inventory if "," not in i and not Path(i).exists()]
    if missing:  # ansible-playbook only warns and runs on an empty inventory
        print(f"openclaw-ops: inventory not found: {', '.join(missing)}", file=sys.stderr)
        return None
    return project, playbook


def runner_kwargs(args: argparse.Namespace, project: Path, playbook: str, private: Path, progress: Progress) -> dict:
    """ansible_runner.run's arguments: the project's ansible.cfg, ansible-playbook from this environment."""
    env = {"ANSIBLE_CONFIG": str(project / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    # ansible-playbook from the same environment as this command, even when PATH does not name it
    bindir = Path(sys.executable).parent
    if (bindir / "ansible-playbook").exists():
        env["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    # inventory: a list, each goes to -i as is (a str would be INI text)
    kwargs = dict(private_data_dir=str(private), project_dir=str(project), playbook=playbook,
                  inventory=[resolve_inventory(i) for i in args.inventory], envvars=env, event_handler=progress,
                  quiet=True)
    if args.limit:
        kwargs["limit"] = args.limit
    cmdline = runner_cmdline(args)
    if cmdline:
        kwargs["cmdline"] = cmdline
    if args.timeout:
        kwargs["timeout"] = args.timeout
    if args.artifact_dir:
        kwargs["artifact_dir"] = str(Path(args.artifact_dir).resolve())
    return kwargs


def run_cancellable(kwargs: dict):
    """ansible_runner.run; a CI job that is cancelled sends SIGTERM (or SIGINT): runner stops ansible-playbook, the
    report says so."""
    import ansible_runner  # imported late: `--help` stays fast

    stop, doomed = [], []
    previous = {sig: signal.signal(sig, lambda signum, _frame: stop.append(signum))
                for sig in (signal.SIGTERM, signal.SIGINT)}

    def cancel():
        # runner kills ansible-playbook's process group; since ansible-core 2.19 a worker and the task it runs live
        # in groups of their own and outlive it (a `command` task kept running): they are noted here and killed after
        if stop and not doomed:
            doomed.extend(descendants(os.getpid()))
        return bool(stop)

    kwargs["cancel_callback"] = cancel
    try:
        return ansible_runner.run(**kwargs)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for pid in doomed:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def descendants(root: int) -> list[int]:
    """The PIDs of every process below `root` (from /proc), children first."""
    parent = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as fh:
                parent[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [root]
    while todo:
        current = todo.pop()
        kids = [pid for pid, ppid in parent.items() if ppid == current]
        found += kids
        todo += kids
    return found


def why_failed(report: dict, args: argparse.Namespace, rc: int, status: str, output: str, out) -> str:
    """The verdict's reason in words ("" when the hosts' lines say it); prints ansible's own last words when no host
    ran (syntax error, undefined variable, no host matched)."""
    s = report["summary"]
    if status == "timeout":
        return f" (timed out after {args.timeout} s)"
    if status == "canceled":
        return " (cancelled by a signal)"
    if not report["hosts"] and report["controller"]:
        return f" (no gateway host ran, only plays on localhost; ansible-playbook rc={rc})"
    if not report["hosts"]:
        tail = [line for line in output.splitlines() if line.strip()][-15:]
        print("\n".join("  | " + line for line in tail), file=out)
        return f" (no host ran; ansible-playbook rc={rc})"
    if rc != 0 and not (s["failed"] or s["unreachable"]):
        return f" (ansible-playbook rc={rc})"
    return ""


def run(args: argparse.Namespace, out=sys.stdout) -> int:
    located = locate(args)
    if located is None:
        return EXIT_USAGE
    project, playbook = located
    private = Path(tempfile.mkdtemp(prefix="openclaw-ops-runner-"))
    builder = ReportBuilder()
    progress = Progress(out, args.verbose, builder)
    started = datetime.now(UTC)
    print(f"openclaw-ops {args.command}: {playbook} on {', '.join(args.inventory)}"
          + (f" (limit {args.limit})" if args.limit else "") + (" [check mode]" if args.check else ""), file=out, flush=True)
    try:
        result = run_cancellable(runner_kwargs(args, project, playbook, private, progress))
        output = result.stdout.read() if result.stdout is not None else ""
        if args.log:
            Path(args.log).write_text(output)
        rc, status = result.rc, result.status
    finally:
        shutil.rmtree(private, ignore_errors=True)

    finished = datetime.now(UTC)
    report = builder.build(
        command=args.command, playbook=playbook, project_dir=str(project), inventory=args.inventory, limit=args.limit,
        check_mode=args.check, started=started.isoformat(), finished=finished.isoformat(),
        duration=round((finished - started).total_seconds(), 1), rc=rc, runner_status=status)
    report["ok"] = report_ok(report, rc)
    if args.json_report:
        Path(args.json_report).write_text(json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")

    print("", file=out)
    if report["hosts"] or report["controller"]:
        print(table(report), file=out)
    s = report["summary"]
    verdict = "OK" if report["ok"] else "FAILED"
    why = "" if report["ok"] else why_failed(report, args, rc, status, output, out)
    print(f"\n{verdict}: {s['ok']} ok, {s['failed']} failed, {s['unreachable']} unreachable in {report['duration']} s{why}"
          + (f"; report {args.json_report}" if args.json_report else ""), file=out, flush=True)
    return EXIT_OK if report["ok"] else EXIT_FAILED


def main(argv=None) -> int:
    args = parse_args(argv)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
