"""openclaw_logs: the gateway's log (live and rotated, gzip too) filtered on the host, every secret masked there."""

import gzip
import json

import openclaw_logs
import pytest

TOKEN = "5b0e2f7c9d1a4e3b8c6f0a2d4e6b8c0a1f3e5d7c9b1a3e5f"


def line(msg, level="INFO", date="2026-11-26T06:00:00.000Z", **extra):
    return json.dumps({"0": msg, **extra, "_meta": {"logLevelName": level, "date": date}}, separators=(",", ":"))


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "openclaw.log"
    with gzip.open(tmp_path / "openclaw.log-20261124.gz", "wt") as fh:
        fh.write(line("oldest", date="2026-11-24T01:00:00.000Z") + "\n")
    (tmp_path / "openclaw.log-20261125").write_text(line(f"rotated token {TOKEN}", "WARN", "2026-11-25T01:00:00.000Z")
                                                    + "\n")
    path.write_text("\n".join([
        line("gateway ready"),
        line("provider configured", "DEBUG", **{"1": {"apiKey": "plain-provider-key"}}),
        line("channel whatsapp disconnect", "ERROR", "2026-11-26T07:00:00.000Z"),
        f"not json: Authorization: Bearer {TOKEN}",
    ]) + "\n")
    token = tmp_path / "gateway.token"
    token.write_text(TOKEN + "\n")
    return path, token


def run(run_module, log, **args):
    path, token = log
    kind, res = run_module(openclaw_logs.main, dict(dict(path=str(path), token_file=str(token)), **args))
    assert kind == "exit", res
    return res


def test_every_line_oldest_first_with_every_secret_masked(run_module, log):
    res = run(run_module, log)
    text = json.dumps(res)
    assert TOKEN not in text and "plain-provider-key" not in text
    assert [json.loads(x)["0"] for x in res["lines"][:2]] == ["oldest", "rotated token ***REDACTED***"]
    assert res["lines"][-1] == "not json: Authorization: Bearer ***REDACTED***"
    assert res["masked"] == 3 and len(res["lines"]) == 6 and not res["changed"]
    assert [p.rsplit("/", 1)[1] for p in res["files"]] == ["openclaw.log-20261124.gz", "openclaw.log-20261125",
                                                          "openclaw.log"]


def test_filters_level_pattern_since_and_count(run_module, log):
    assert [json.loads(x)["0"] for x in run(run_module, log, level="warn")["lines"][:2]] == [
        "rotated token ***REDACTED***", "channel whatsapp disconnect"]
    assert len(run(run_module, log, pattern="channel|oldest")["lines"]) == 2
    assert [json.loads(x)["0"] for x in run(run_module, log, since="2026-11-26T06:30")["lines"]] == [
        "channel whatsapp disconnect"]
    assert len(run(run_module, log, lines=2)["lines"]) == 2


def test_check_mode_reads_the_same(run_module, log):
    path, token = log
    kind, res = run_module(openclaw_logs.main, dict(path=str(path), token_file=str(token)), check_mode=True)
    assert kind == "exit" and len(res["lines"]) == 6 and TOKEN not in json.dumps(res)


def test_a_missing_log_is_no_lines_and_a_bad_pattern_is_refused(run_module, tmp_path):
    kind, res = run_module(openclaw_logs.main, dict(path=str(tmp_path / "none.log")))
    assert kind == "exit" and res["lines"] == [] and res["files"] == []
    kind, res = run_module(openclaw_logs.main, dict(path=str(tmp_path / "none.log"), pattern="(unclosed"))
    assert kind == "fail" and "is not a regular expression" in res["msg"]
