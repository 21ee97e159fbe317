"""Turn ansible-runner events into a per-host report.

Pure functions and one small collector class: no Ansible or runner imports, so the parsing can be
unit-tested on recorded events.

Per host the report holds the result (ok / failed / unreachable), whether anything changed, the task
that failed and its message, the wall time between the host's first task start and last task end, and
the results of the tasks that ran one of the project's modules (``openclaw_upgrade``, ``openclaw_backup``,
``openclaw_restore``, ``openclaw_health``, ``openclaw_token``). A few fields of those results are lifted to
the top of the host entry (``version``, ``ready``, ``backup_path``, ``from_version`` ...); only fields
present in the result are used, so a ``no_log`` task (its result is censored) contributes nothing but
the fact that it ran.
"""

from __future__ import annotations

from datetime import datetime

OUR_MODULES = ("openclaw_upgrade", "openclaw_backup", "openclaw_restore", "openclaw_health", "openclaw_token")

# module -> {result field: report field}; the last result of a module on a host wins.
LIFTED = {
    "openclaw_upgrade": {"from_version": "from_version", "to_version": "to_version", "current_version": "current_version",
                         "rolled_back": "rolled_back", "reason": "reason", "downtime_seconds": "downtime_seconds",
                         "failed_probes": "failed_probes", "duration": "upgrade_seconds", "refused": "refused",
                         "rehearsal_seconds": "rehearsal_seconds"},
    "openclaw_backup": {"path": "backup_path", "size": "backup_size", "sha256": "backup_sha256"},
    "openclaw_restore": {"restored": "restored", "rolled_back": "rolled_back", "safety_snapshot": "safety_snapshot",
                         "archive_version": "archive_version"},
    "openclaw_health": {"healthy": "healthy", "live": "live", "ready": "ready", "version": "version",
                        "problems": "problems"},
    "openclaw_token": {},
}

# keys of a module result that are noise in a report (module arguments, Ansible internals, bulky output)
_DROPPED = ("invocation", "stdout_lines", "stderr_lines", "diff", "item", "ansible_loop_var")

# the implicit controller host (plays on `hosts: localhost`, e.g. health.yml's report play)
CONTROLLER = "localhost"

RESULT_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_unreachable", "runner_on_skipped")


def module_name(event_data: dict) -> str:
    """Short module name of a task: `ansible.legacy.openclaw_health` -> `openclaw_health`."""
    action = event_data.get("resolved_action") or event_data.get("task_action") or ""
    return action.rsplit(".", 1)[-1]


def task_label(event_data: dict) -> str:
    """`role : task name` as ansible-playbook prints it."""
    task = event_data.get("task") or event_data.get("task_action") or "?"
    role = event_data.get("role")
    return f"{role} : {task}" if role else task


def clean_result(res: dict) -> dict:
    """A module result without Ansible internals; a censored (no_log) result is reduced to that fact."""
    if not isinstance(res, dict):
        return {}
    if "censored" in res:
        return {"censored": True, **({"changed": res["changed"]} if "changed" in res else {})}
    return {k: v for k, v in res.items() if not k.startswith("_ansible") and k not in _DROPPED}


def loop_items(res: dict) -> list:
    """The per-item results of a looped task (`res.results`), else the result itself. A censored loop
    result has no items: it stays one censored result."""
    items = res.get("results") if isinstance(res, dict) and "censored" not in res else None
    if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
        return [i for i in items if not i.get("skipped")] or [res]
    return [res]


def result_message(res: dict) -> str:
    """One message for a failed or unreachable result (msg, else stderr, else the censored note)."""
    if not isinstance(res, dict):
        return ""
    if "censored" in res:
        return "(output hidden: no_log task)"
    msg = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    if not msg and res.get("results"):  # a loop: the first failed item's message
        for item in res["results"]:
            if isinstance(item, dict) and item.get("failed"):
                msg = item.get("msg") or item.get("stderr") or ""
                break
    return str(msg).strip()


def _parse_time(value):
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def status_of(event: dict) -> str | None:
    """Progress status of a task-result event: ok, changed, failed, ignored, unreachable, skipped; None otherwise."""
    kind = event.get("event")
    if kind not in RESULT_EVENTS:
        return None
    data = event.get("event_data") or {}
    res = data.get("res") if isinstance(data.get("res"), dict) else {}
    if kind == "runner_on_ok":
        return "changed" if res.get("changed") else "ok"
    if kind == "runner_on_failed":
        return "ignored" if data.get("ignore_errors") else "failed"
    if kind == "runner_on_unreachable":
        return "unreachable"
    return "skipped"


class HostRecord:
    """What the events said about one host."""

    def __init__(self, name: str):
        self.name = name
        self.start = None
        self.end = None
        self.tasks = 0
        self.changed_tasks = 0
        self.last_failure = None  # (task label, message) of the last failure not ignored
        self.unreachable = None  # (task label, message)
        self.modules: dict[str, list[dict]] = {}

    def add(self, event: dict) -> None:
        status = status_of(event)
        if status is None:
            return
        data = event.get("event_data") or {}
        res = data.get("res") if isinstance(data.get("res"), dict) else {}
        start, end = _parse_time(data.get("start")), _parse_time(data.get("end"))
        if start and (self.start is None or start < self.start):
            self.start = start
        if end and (self.end is None or end > self.end):
            self.end = end
        if status == "skipped":
            return
        self.tasks += 1
        if res.get("changed"):
            self.changed_tasks += 1
        if status == "failed":
            self.last_failure = (task_label(data), result_message(res))
        elif status == "unreachable":
            self.unreachable = (task_label(data), result_message(res))
        name = module_name(data)
        if name in OUR_MODULES:
            for item in loop_items(res):
                entry = clean_result(item)
                entry["task"] = task_label(data)
                entry["task_status"] = status
                if item is not res:  # one item of a loop: its own status and label
                    entry["task_status"] = "failed" if item.get("failed") else "changed" if item.get("changed") else "ok"
                    if item.get("_ansible_item_label") is not None:
                        entry["item"] = str(item["_ansible_item_label"])
                self.modules.setdefault(name, []).append(entry)

    def summary(self, stats: dict | None) -> dict:
        """The host's report entry. `stats` is the playbook_on_stats event_data, or None if the run never got there."""
        out = {"result": "ok", "changed": self.changed_tasks > 0, "changed_tasks": self.changed_tasks, "tasks": self.tasks,
               "failed_task": None, "msg": None,
               "duration": round((self.end - self.start).total_seconds(), 1) if self.start and self.end else None}
        for module, results in self.modules.items():
            last = results[-1]
            for src, dst in LIFTED.get(module, {}).items():
                if src in last:
                    out[dst] = last[src]
        paths = [r["path"] for r in self.modules.get("openclaw_backup", []) if r.get("path")]
        if paths:  # backup.yml takes one archive per backup set (a loop): all of them
            out["backup_paths"] = paths
        out["modules"] = self.modules

        if stats is not None:
            dark = (stats.get("dark") or {}).get(self.name, 0)
            failed = (stats.get("failures") or {}).get(self.name, 0)
            out["changed"] = out["changed"] or (stats.get("changed") or {}).get(self.name, 0) > 0
        else:  # no recap (the run was cut short): trust the events
            dark = 1 if self.unreachable else 0
            failed = 1 if self.last_failure else 0
        if dark:
            out["result"] = "unreachable"
            out["failed_task"], out["msg"] = self.unreachable or (None, "host unreachable")
        elif failed:
            out["result"] = "failed"
            out["failed_task"], out["msg"] = self.last_failure or (None, "failed")
        # health.yml probes with fail_on_unhealthy: false (the verdict comes later, on the controller):
        # an unhealthy gateway fails its host here. `rolled_back` needs no such rule: an automatic rollback
        # (upgrade, restore) fails its task, while an operator's `rollback` succeeds with rolled_back=true.
        health = (self.modules.get("openclaw_health") or [{}])[-1]
        if out["result"] == "ok" and health.get("healthy") is False:
            out["result"] = "failed"
            out["failed_task"] = health.get("task")
            out["msg"] = "; ".join(health.get("problems") or []) or "gateway unhealthy"
        return out


class ReportBuilder:
    """Feed it every runner event (in order); `build()` returns the report dict."""

    def __init__(self):
        self.hosts: dict[str, HostRecord] = {}
        self.stats = None

    def add(self, event: dict) -> None:
        kind = event.get("event")
        data = event.get("event_data") or {}
        if kind == "playbook_on_stats":
            self.stats = data
            # hosts in the recap that never produced a task result (e.g. unreachable at gathering)
            for key in ("ok", "changed", "dark", "failures", "skipped", "rescued", "ignored", "processed"):
                for host in (data.get(key) or {}):
                    self.hosts.setdefault(host, HostRecord(host))
            return
        host = data.get("host")
        if host and kind in RESULT_EVENTS:
            self.hosts.setdefault(host, HostRecord(host)).add(event)

    def build(self, **meta) -> dict:
        hosts, controller = {}, None
        for name in sorted(self.hosts):
            entry = self.hosts[name].summary(self.stats)
            if name == CONTROLLER:
                controller = entry
            else:
                hosts[name] = entry
        counts = {"ok": 0, "failed": 0, "unreachable": 0}
        for entry in hosts.values():
            counts[entry["result"]] += 1
        report = dict(meta)
        report["summary"] = counts
        report["hosts"] = hosts
        report["controller"] = controller
        report["completed"] = self.stats is not None
        return report


def report_ok(report: dict, rc: int | None) -> bool:
    """The CI gate: the playbook exited 0, it ran to its recap, at least one host ran, and no host nor
    the controller play failed."""
    if rc != 0 or not report.get("completed") or not report.get("hosts"):
        return False
    if report["summary"]["failed"] or report["summary"]["unreachable"]:
        return False
    controller = report.get("controller")
    return controller is None or controller["result"] == "ok"


def detail(entry: dict) -> str:
    """One short human sentence for the table's last column."""
    if entry["result"] != "ok":
        msg = (entry.get("msg") or "").strip().splitlines()
        first = msg[0] if msg else ""
        task = entry.get("failed_task")
        text = f"{task}: {first}" if task else first
        return text if len(text) <= 110 else text[:107] + "..."
    parts = []
    if "from_version" in entry or "to_version" in entry:
        parts.append(f"{entry.get('from_version', '?')} -> {entry.get('to_version', '?')}")
    if entry.get("rolled_back"):
        parts.append("rolled back" + (f" ({entry['reason']})" if entry.get("reason") else ""))
    if entry.get("downtime_seconds") is not None:
        parts.append(f"downtime {entry['downtime_seconds']:.1f}s")
    if entry.get("backup_paths"):
        more = len(entry["backup_paths"]) - 1
        parts.append(entry["backup_paths"][-1] + (f" (+{more} more)" if more else ""))
    if entry.get("ready") is not None:
        parts.append("ready" if entry["ready"] else "not ready")
    return ", ".join(parts)


def table(report: dict) -> str:
    """The final per-host table (plain text, fixed columns)."""
    rows = [("HOST", "RESULT", "CHANGED", "DURATION", "VERSION", "DETAIL")]
    entries = list(report["hosts"].items())
    if report.get("controller"):
        entries.append(("(controller)", report["controller"]))
    for name, entry in entries:
        version = entry.get("current_version") or entry.get("version") or entry.get("to_version")
        duration = f"{entry['duration']:.1f}s" if entry.get("duration") is not None else "-"
        rows.append((name, entry["result"], str(entry["changed_tasks"]), duration, str(version or "-"), detail(entry)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5] for r in rows]
    return "\n".join(line.rstrip() for line in lines)
