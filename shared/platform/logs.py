"""Structured logs: one JSON object per line, with the ids of what is being done."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from shared.contract.timefmt import iso

#: Record attributes copied into the JSON line when a log call passes them in `extra`.
CONTEXT_FIELDS = (
    "request_id",
    "run_id",
    "trigger_id",
    "routine_id",
    "outcome",
    "actor",
    "message_args",
    "method",
    "route",
    "status",
    "duration_ms",
)


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname.lower(),
            "process": self.process,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def timestamp(record: logging.LogRecord) -> str:
    """RFC 3339 UTC with milliseconds, from when the record was made: lines from pods in
    other zones sort and join with the API's own timestamps."""
    return iso(datetime.fromtimestamp(record.created, UTC))


def configure_logging(process: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
