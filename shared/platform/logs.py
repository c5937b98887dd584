"""Logs a person and a machine both read: one JSON object per line, with the ids of
what is being done; a coloured console line instead when stderr is a terminal.

Every process logs through the standard library (its own code, gunicorn, dramatiq,
SQLAlchemy); structlog's ProcessorFormatter renders those records, so there is one
format whoever wrote the line. The JSON keys are the service's own (`ts`, `level`,
`process`, `logger`, `msg`, the context ids, `exc`), which dashboards already query.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import IO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

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


class JsonFormatter(structlog.stdlib.ProcessorFormatter):
    """A standard-library record as one JSON line."""

    def __init__(self, process: str) -> None:
        super().__init__(
            foreign_pre_chain=_fields(process),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                _exception_as_text,
                structlog.processors.EventRenamer("msg"),
                structlog.processors.JSONRenderer(default=str),
            ],
        )


class ConsoleFormatter(structlog.stdlib.ProcessorFormatter):
    """A standard-library record as a coloured line, for a person at a terminal."""

    def __init__(self, process: str) -> None:
        super().__init__(
            foreign_pre_chain=_fields(process),
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.dev.ConsoleRenderer(colors=True, timestamp_key="ts"),
            ],
        )


def formatter_for(process: str, stream: IO[str] | None = None) -> logging.Formatter:
    """JSON unless `stream` is a terminal: containers and log shippers get JSON, `make
    run` gets lines a person can read (and JSON never carries colour escapes)."""
    stream = stream or sys.stderr
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    return ConsoleFormatter(process) if is_terminal else JsonFormatter(process)


def configure_logging(process: str, level: int = logging.INFO) -> None:
    """Every record of the process, from any library, through the one handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(process, sys.stderr))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def timestamp(record: logging.LogRecord) -> str:
    """RFC 3339 UTC with milliseconds, from when the record was made: lines from pods in
    other zones sort and join with the API's own timestamps."""
    return iso(datetime.fromtimestamp(record.created, UTC))


def _fields(process: str) -> list[Processor]:
    def base(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
        record: logging.LogRecord = event["_record"]
        fields = {
            "ts": timestamp(record),
            "level": record.levelname.lower(),
            "process": process,
            "logger": record.name,
        }
        context = {name: getattr(record, name) for name in CONTEXT_FIELDS if hasattr(record, name)}
        return {**fields, **event, **context}

    return [base]


def _exception_as_text(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    """The traceback as the `exc` string, inside the one line."""
    record: logging.LogRecord | None = event.get("_record")
    exc_info = event.pop("exc_info", None)
    if record is not None and record.exc_info and not exc_info:
        exc_info = record.exc_info
    if exc_info:
        event["exc"] = logging.Formatter().formatException(exc_info)
    return event
