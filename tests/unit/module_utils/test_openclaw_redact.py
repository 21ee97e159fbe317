"""The masking rules shared by diagnose.yml's bundle and logs.yml (module_utils/openclaw_redact.py)."""

import json

from ansible.module_utils.openclaw_redact import MASK, mask_json, read_secrets, redact_line, redact_text

TOKEN = "f3c9a1e07b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d"


def test_the_token_file_is_read_as_written_and_stripped(tmp_path):
    path = tmp_path / "gateway.token"
    path.write_text(TOKEN + "\n")
    assert read_secrets(str(path)) == [TOKEN + "\n", TOKEN]
    (tmp_path / "short").write_text("abc\n")
    assert read_secrets(str(tmp_path / "short"), str(tmp_path / "missing"), "") == []  # too short to mask, absent


def test_the_token_is_masked_wherever_it_appears():
    text = f"auth ok for {TOKEN}; url http://x/?t={TOKEN}&a=1"
    out = redact_text(text, [TOKEN])
    assert TOKEN not in out and out.count(MASK) == 2


def test_secret_shapes_without_knowing_the_value():
    text = ("Authorization: Bearer abcdefghijklmnop0123 "
            "password=hunter2hunter2 sk-proj-0123456789abcdef xoxb-0123456789-abcdefghij "
            "123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ab ok")
    out = redact_text(text, [])
    for secret in ("abcdefghijklmnop0123", "hunter2hunter2", "sk-proj-0123456789abcdef", "xoxb-0123456789-abcdefghij",
                   "AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ab"):
        assert secret not in out, secret
    assert out.startswith("Authorization: Bearer " + MASK) and out.endswith(" ok")


def test_json_values_under_secret_keys():
    data = {"gateway": {"auth": {"token": "abc", "mode": "token"}}, "channels": [{"botToken": 12345, "enabled": True}],
            "apiKey": "k", "password": None}
    assert mask_json(data) == {"gateway": {"auth": {"token": MASK, "mode": "token"}},
                               "channels": [{"botToken": MASK, "enabled": True}], "apiKey": MASK, "password": None}


def test_a_json_log_line_is_masked_and_kept_compact():
    line = json.dumps({"0": "provider configured", "1": {"apiKey": "plainvalue"}, "_meta": {"logLevelName": "INFO"}},
                      separators=(",", ":"))
    out = redact_line(line, [])
    assert "plainvalue" not in out and json.loads(out)["1"]["apiKey"] == MASK and " " not in out.replace("provider c", "")
    clean = '{"0":"gateway ready","_meta":{"logLevelName":"INFO","date":"2026-11-26T06:00:01.000Z"}}'
    assert redact_line(clean, [TOKEN]) == clean  # untouched, byte for byte
    assert redact_line(f'{{"0":"token is {TOKEN}"}}', [TOKEN]) == f'{{"0":"token is {MASK}"}}'
    assert redact_line(f"not json {TOKEN} {{", [TOKEN]) == f"not json {MASK} {{"
