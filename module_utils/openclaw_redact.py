"""Masking of secrets in what is collected from a gateway host (stdlib only; runs on the target).

One set of rules for everything that leaves a host with the gateway's output in it: the support bundle
(playbooks/files/openclaw-diagnose.py, which diagnose.yml ships this file beside) and the log collection
(library/openclaw_logs.py, through Ansible's module_utils). The gateway token is read on the host from its file (so it
never passes through Ansible) and replaced wherever it appears; values under JSON keys that name secrets, bearer
tokens and API-key shapes are masked too. No imports beyond the standard library: the diagnose script runs without
Ansible.
"""

import json
import re

MASK = "***REDACTED***"
# a secret is masked by value only from this length on (shorter values would mask ordinary words)
MIN_SECRET_LEN = 8
SECRET_KEYS = re.compile(r"(token|secret|password|passwd|api[-_]?key|apikey|private[-_]?key|credential|cookie|auth[-_]?key)",
                         re.I)
SECRET_SHAPES = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)((?:token|password|secret|api[-_]?key)\s*[=:]\s*)[^\s\"',;]{8,}"),
    re.compile(r"\b(?:sk|xox[abprs]|ghp|gho|github_pat|glpat)[-_][A-Za-z0-9_-]{10,}"),
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # telegram bot token
]


def read_secrets(*paths):
    """The values to mask wherever they appear: the content of each readable file, as read and stripped, when at least
    MIN_SECRET_LEN characters long. A missing or unreadable file adds nothing."""
    found = []
    for path in paths:
        if not path:
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                raw = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        found += [v for v in (raw, raw.strip()) if len(v) >= MIN_SECRET_LEN and v not in found]
    return found


def mask_json(value):
    """A copy of a parsed JSON value with every scalar under a key that names a secret replaced by MASK."""
    if isinstance(value, dict):
        out = {}
        for key, val in value.items():
            if SECRET_KEYS.search(str(key)) and isinstance(val, (str, int, float)) and not isinstance(val, bool):
                out[key] = MASK
            else:
                out[key] = mask_json(val)
        return out
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    return value


def redact_text(text, secrets):
    """`text` with every secret value (longest first) and every secret shape replaced by MASK."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    for shape in SECRET_SHAPES:
        text = shape.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, text)
    return text


def redact_line(line, secrets):
    """One line of a log: a JSON object (the gateway logs JSON lines) first has the values under secret-naming keys
    masked, and is written back compact only when that changed something; then redact_text."""
    if line.lstrip().startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            data = None
        if isinstance(data, dict):
            masked = mask_json(data)
            if masked != data:
                line = json.dumps(masked, ensure_ascii=False, separators=(",", ":"))
    return redact_text(line, secrets)
