"""Logs are one JSON object per line, carrying the ids of what was being done."""

from __future__ import annotations

import json
import logging
import time

import pytest

from shared.platform.logs import JsonFormatter


def format_record(message: str, **extra: object) -> dict:
    record = logging.LogRecord("routines.test", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    line = JsonFormatter("worker").format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_log_line_is_one_json_object_with_level_process_and_message() -> None:
    parsed = format_record("run decided")
    assert parsed["msg"] == "run decided"
    assert parsed["level"] == "info"
    assert parsed["process"] == "worker"
    assert parsed["logger"] == "routines.test"


def test_context_ids_are_carried_when_given() -> None:
    parsed = format_record(
        "run decided", request_id="abc", run_id="r1", trigger_id="t1", routine_id="x1"
    )
    assert (parsed["request_id"], parsed["run_id"], parsed["trigger_id"], parsed["routine_id"]) == (
        "abc",
        "r1",
        "t1",
        "x1",
    )


def test_exceptions_stay_inside_the_one_line() -> None:
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = JsonFormatter("web").format(record)
    assert "\n" not in line
    assert "ValueError" in json.loads(line)["exc"]


def test_the_timestamp_is_rfc3339_utc_with_milliseconds_from_the_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "tick", (), None)
    record.created = 1_795_663_126.123_456  # 2026-11-26T03:18:46.123456Z
    assert json.loads(JsonFormatter("web").format(record))["ts"] == "2026-11-26T03:18:46.123Z"


def test_the_timestamp_does_not_depend_on_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/St_Johns")
    time.tzset()
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "tick", (), None)
        record.created = 1_795_663_126.5
        line = json.loads(JsonFormatter("web").format(record))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert line["ts"] == "2026-11-26T03:18:46.500Z"


def test_a_terminal_gets_coloured_lines_and_anything_else_gets_json() -> None:
    import io
    import os

    from shared.platform.logs import ConsoleFormatter, formatter_for

    leader, follower = os.openpty()
    try:
        with os.fdopen(follower, "w") as terminal:
            assert isinstance(formatter_for("embedded", terminal), ConsoleFormatter)
    finally:
        os.close(leader)
    assert isinstance(formatter_for("embedded", io.StringIO()), JsonFormatter)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "tick", (), None)
    assert "\x1b[" in ConsoleFormatter("embedded").format(record)
    assert "\x1b[" not in JsonFormatter("embedded").format(record)


def test_gunicorns_own_lines_are_json_and_it_keeps_no_access_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gunicorn.config import Config

    from web.gunicorn_logging import ServiceFormatLogger

    log = ServiceFormatLogger(Config())
    log.info("Listening at: http://127.0.0.1:3100")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert (line["logger"], line["process"]) == ("gunicorn.error", "web")
    assert line["msg"] == "Listening at: http://127.0.0.1:3100"
    assert not log.access_log_enabled
