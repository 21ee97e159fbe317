"""Filters shared by the openclaw roles: semver range checks, name mapping, backup retention and archive choice.

Pure functions, unit-tested in tests/unit/filters/.
"""

import calendar
import datetime
import html
import importlib.util
import os
import re

from ansible.errors import AnsibleFilterError


def _host_library():
    """The host library (module_utils/openclaw_host.py; plugins/module_utils/ in the collection: beside this directory
    in both layouts), loaded by path: the controller has no import path for module_utils. Retention and the systemctl
    command line are the rules the hosts' scripts and modules apply, written once there."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "openclaw_host.py")
    spec = importlib.util.spec_from_file_location("openclaw_ops_host_library", path)
    lib = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lib)
    return lib


HOST = _host_library()

_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")
_COMPARATOR_RE = re.compile(r"^(>=|<=|>|<|=|\^|~)?\s*(v?\d+(?:\.\d+){0,2})$")


def _parse(version, what="version"):
    if not isinstance(version, str):
        raise AnsibleFilterError(f"{what} must be a string like '24.16.0', got {type(version).__name__}: {version!r}")
    m = _VERSION_RE.match(version.strip())
    if not m:
        raise AnsibleFilterError(f"{what} {version!r} is not a semantic version like '24.16.0'")
    return tuple(int(x) for x in m.groups())


def _pad(partial):
    parts = [int(x) for x in partial.lstrip("v").split(".")]
    return tuple(parts + [0] * (3 - len(parts))), len(parts)


def _satisfies_comparator(ver, comp):
    m = _COMPARATOR_RE.match(comp)
    if not m:
        raise AnsibleFilterError(f"unsupported version comparator {comp!r}")
    op, bound = m.group(1) or "=", m.group(2)
    ref, given = _pad(bound)
    if op == ">=":
        return ver >= ref
    if op == ">":
        return ver > ref
    if op == "<=":
        return ver <= ref
    if op == "<":
        return ver < ref
    if op == "^":
        upper = (ref[0] + 1, 0, 0) if ref[0] else (0, ref[1] + 1, 0)
        return ref <= ver < upper
    if op == "~":
        upper = (ref[0], ref[1] + 1, 0) if given >= 2 else (ref[0] + 1, 0, 0)
        return ref <= ver < upper
    # "=" with a partial version ("24") means any 24.x.y
    return ver[:given] == ref[:given]


def semver_satisfies(version, version_range):
    """True when `version` satisfies an npm-style `engines` range.

    Supports the subset npm packages use for `engines.node`: space-separated
    comparators (AND) joined by `||` (OR), with >=, >, <=, <, =, ^ and ~.
    Example: '24.21.0' | semver_satisfies('>=24.16.0 <25 || >=26.1.0') -> True
    """
    ver = _parse(version)
    if not isinstance(version_range, str) or not version_range.strip():
        raise AnsibleFilterError(f"version range must be a non-empty string, got {version_range!r}")
    for alternative in version_range.split("||"):
        comparators = re.findall(r"(?:>=|<=|>|<|=|\^|~)?\s*v?\d+(?:\.\d+){0,2}", alternative)
        if not comparators:
            raise AnsibleFilterError(f"cannot parse version range {version_range!r}")
        if all(_satisfies_comparator(ver, c.replace(" ", "")) for c in comparators):
            return True
    return False


_NODE_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "armv7l"}


def node_arch(machine):
    """Map an Ansible `ansible_architecture` to the Node.js distribution arch name."""
    try:
        return _NODE_ARCH[machine]
    except (KeyError, TypeError):
        raise AnsibleFilterError(
            f"no Node.js Linux build for architecture {machine!r}; supported: {', '.join(sorted(_NODE_ARCH))}"
        ) from None


def sha256_from_shasums(text, filename):
    """Pick the sha256 of `filename` out of a SHASUMS256.txt body."""
    if not isinstance(text, str):
        raise AnsibleFilterError(f"SHASUMS256 content must be a string, got {type(text).__name__}")
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == filename and re.fullmatch(r"[0-9a-f]{64}", parts[0]):
            return parts[0]
    raise AnsibleFilterError(f"{filename} is not listed in SHASUMS256.txt: refusing an unverified download")


def backup_prune_list(files, keep_days, now):
    """Paths of archives past retention: older than `keep_days` days at epoch `now`, except the newest one, which is
    kept however old (a schedule that broke a week ago must not have its last good archive pruned).
    `files` is the `files` list of ansible.builtin.find (dicts with path and mtime)."""
    if not isinstance(files, list):
        raise AnsibleFilterError(f"backup_prune_list expects the list of find's files, got {type(files).__name__}")
    try:
        days, at = float(keep_days), float(now)
    except (TypeError, ValueError):
        raise AnsibleFilterError(f"keep_days {keep_days!r} and now {now!r} must be numbers") from None
    if days < 0:
        raise AnsibleFilterError(f"keep_days must not be negative, got {keep_days!r}")
    return HOST.prune_list(files, days, at)


def openclaw_prune_pair(pair, now):
    """backup_prune_list for a (files, keep_days) pair, as `zip` makes them (one pair per backup set)."""
    files, keep_days = pair
    return backup_prune_list(files, keep_days, now)


_UTC_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$")
_UTC_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z?)?$")


def openclaw_utc_time(value):
    """A UTC date or date-time as 'YYYY-MM-DDTHH:MM:SSZ', or '' when `value` is none, so a playbook can refuse it with
    its own message. Takes 2026-11-29, 2026-11-29T08:00, 2026-11-29T08:00:00 (a space for the T and a trailing Z
    allowed), the archive names' 20261129T080000Z, and a date or datetime (YAML reads an unquoted 2026-11-29 as one;
    a datetime with a zone is converted to UTC)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, datetime.date):
        return value.strftime("%Y-%m-%dT00:00:00Z")
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    m = _UTC_TIME.match(text) or _UTC_STAMP.match(text)
    if not m:
        return ""
    try:
        moment = datetime.datetime(*(int(x) for x in m.groups(default="0")))
    except ValueError:  # 2026-02-30, 25:00
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def openclaw_restore_pick(archives, before="", backup_set="backup"):
    """The archive restore.yml restores: of the list openclaw_archives returns, the newest (by the time in its name)
    plain archive of `backup_set` (the full state; an encrypted one is decrypted on the controller, an archive of
    another set holds only part of the state), taken strictly before `before` (UTC, see openclaw_utc_time) when given.
    {} when none is."""
    if not isinstance(archives, list) or not all(isinstance(a, dict) for a in archives):
        raise AnsibleFilterError(f"openclaw_restore_pick expects the archives list of openclaw_archives, got "
                                 f"{type(archives).__name__}")
    candidates = [a for a in archives if a.get("backup_set") == backup_set and not a.get("encrypted")]
    if before not in ("", None):
        cutoff = openclaw_utc_time(before)
        if not cutoff:
            raise AnsibleFilterError(f"openclaw_restore_pick: before {before!r} ({type(before).__name__}) is not a UTC "
                                     "date or date-time like 2026-11-29 or 2026-11-29T08:00")
        limit = calendar.timegm(datetime.datetime.strptime(cutoff, "%Y-%m-%dT%H:%M:%SZ").timetuple())
        candidates = [a for a in candidates if a["taken_epoch"] < limit]
    return max(candidates, key=lambda a: (a["taken_epoch"], a["name"]), default={})


def to_plist(data):
    """XML property list of `data` (dict), via plistlib: launchd jobs are rendered by the library, not by hand."""
    import plistlib

    if not isinstance(data, dict):
        raise AnsibleFilterError(f"to_plist expects a dict, got {type(data).__name__}")
    try:
        return plistlib.dumps(data, sort_keys=True).decode()
    except (TypeError, OverflowError) as exc:
        raise AnsibleFilterError(f"cannot render a property list: {exc}") from None


_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@-]+\.(service|timer|socket|path|target|mount)$")


def systemd_verify_cmd(unit_name, user=False):
    """A `validate:` command for template/copy that checks a candidate unit before it replaces the live one.

    systemd-analyze only accepts a unit under its real name (the temp file Ansible validates has none), and it only
    warns on unknown keys and bad values: the candidate is copied under `unit_name` into a temporary directory, and a
    non-zero exit or any line about the candidate counts as a failure and is printed (the validator's own message
    reaches the task's stderr); lines about other units on the host are not the candidate's fault.
    """
    if not isinstance(unit_name, str) or not _UNIT_NAME.match(unit_name):
        raise AnsibleFilterError(f"systemd_verify_cmd: {unit_name!r} ({type(unit_name).__name__}) is not a unit file name")
    # Ansible fills in the candidate with `validate % path`: no other literal percent sign may appear below
    verify = "systemd-analyze --user verify" if user else "systemd-analyze verify"
    script = ('d=$(mktemp -d) && trap "rm -rf $d" EXIT && cp "$1" "$d/$2" || exit 1; '
              f'out=$({verify} "$d/$2" 2>&1); rc=$?; '
              'if [ $rc -ne 0 ] || echo "$out" | grep -qF "$2"; then '
              'echo "systemd-analyze verify $2: ${out:-exit $rc}" >&2; exit 1; fi')
    return f"/bin/sh -c '{script}' verify %s {unit_name}"


def openclaw_systemctl(paths):
    """The systemctl command line (a list) for a gateway's unit: `systemctl` for the system scope, and for the user
    scope `systemctl --user --machine=USER@`, which root runs for the login user without a login session of its own."""
    if not isinstance(paths, dict) or paths.get("scope") not in ("system", "user") or (
            paths["scope"] == "user" and not paths.get("user")):
        raise AnsibleFilterError("openclaw_systemctl: expects openclaw_gateway_paths (scope system or user; user needs "
                                 f"'user'), got {paths!r}")
    return HOST.systemctl_argv(paths["scope"], paths.get("user"))


def openclaw_sparkline(values, width=160, height=32, label=""):
    """An inline SVG line of a series (None for a missing point), for the self-contained HTML fleet report: no script,
    no external asset. The last point is marked; an empty or all-missing series gives an empty SVG of the same size."""
    if not isinstance(values, (list, tuple)):
        raise AnsibleFilterError(f"openclaw_sparkline: expects a list of numbers, got {type(values).__name__}")
    width, height = int(width), int(height)
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    title = f"<title>{html.escape(str(label))}</title>" if label else ""
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{width}" height="{height}"'
            f' viewBox="0 0 {width} {height}">')
    if not points:
        return f"{head}{title}</svg>"
    low, high = min(v for _i, v in points), max(v for _i, v in points)
    span, steps, pad = (high - low) or 1.0, max(len(values) - 1, 1), 3

    def xy(i, v):
        return round(pad + i * (width - 2 * pad) / steps, 1), round(height - pad - (v - low) * (height - 2 * pad) / span, 1)

    line = " ".join(f"{x},{y}" for x, y in (xy(i, v) for i, v in points))
    x, y = xy(*points[-1])
    return (f'{head}{title}<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
            f'<circle cx="{x}" cy="{y}" r="2.5" fill="currentColor"/></svg>')


SECRETS_PROVIDER = "openclawops"
_SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def openclaw_secret_ref(name):
    """The SecretRef of an entry of openclaw_gateway_secrets, for any credential field of openclaw.json that accepts
    one: {"source": "file", "provider": "openclawops", "id": "/<name>"} (the role's JSON file provider)."""
    if not isinstance(name, str) or not _SECRET_NAME.match(name) or ".." in name:
        raise AnsibleFilterError(f"openclaw_secret_ref: {name!r} ({type(name).__name__}) is not a secret name "
                                 "(letters, digits, '_', '.', '-'; no '/', '..' or spaces)")
    return {"source": "file", "provider": SECRETS_PROVIDER, "id": f"/{name}"}


def openclaw_secret_refs(config):
    """Names of openclaw_gateway_secrets entries that a config references (SecretRefs to the role's provider)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("source") == "file" and node.get("provider") == SECRETS_PROVIDER and isinstance(node.get("id"), str):
                found.append(node["id"][1:] if node["id"].startswith("/") else node["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(config)
    return sorted(set(found))


class FilterModule:
    def filters(self):
        return {
            "semver_satisfies": semver_satisfies,
            "node_arch": node_arch,
            "sha256_from_shasums": sha256_from_shasums,
            "backup_prune_list": backup_prune_list,
            "openclaw_prune_pair": openclaw_prune_pair,
            "openclaw_utc_time": openclaw_utc_time,
            "openclaw_restore_pick": openclaw_restore_pick,
            "to_plist": to_plist,
            "systemd_verify_cmd": systemd_verify_cmd,
            "openclaw_systemctl": openclaw_systemctl,
            "openclaw_sparkline": openclaw_sparkline,
            "openclaw_secret_ref": openclaw_secret_ref,
            "openclaw_secret_refs": openclaw_secret_refs,
        }
