"""Structured logs: one JSON object per line, with the ids of what is being done."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

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
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
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


def configure_logging(process: str, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
