"""The statements a runtime's transactional engine sends, for tests that count them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from shared.platform.runtime import Runtime


@contextmanager
def statements_sent(runtime: Runtime) -> Iterator[list[str]]:
    """Every statement sent on `runtime.engine` while the block runs, in order."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)
