"""Readiness checks shared by every process: database, broker, migrations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from shared.platform.migrate import current_revision, head_revision, is_known_revision
from shared.platform.runtime import Runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


def readiness(runtime: Runtime) -> list[Check]:
    return [_database(runtime), _migrations(runtime), _broker(runtime)]


def _database(runtime: Runtime) -> Check:
    try:
        with runtime.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return Check("database", ok=False, detail=type(error).__name__)
    return Check("database", ok=True)


def _migrations(runtime: Runtime) -> Check:
    try:
        current, head = current_revision(runtime.engine), head_revision()
        known = current is None or is_known_revision(current)
    except Exception as error:
        return Check("migrations", ok=False, detail=type(error).__name__)
    if current == head:
        return Check("migrations", ok=True, detail=str(head))
    if not known:
        # A newer release migrated first (rolling deploy): this code still works on
        # it, so old pods stay ready instead of all dropping out at once.
        return Check("migrations", ok=True, detail=f"at {current}, ahead of this code ({head})")
    return Check("migrations", ok=False, detail=f"at {current}, head is {head}")


def _broker(runtime: Runtime) -> Check:
    client = getattr(runtime.broker, "client", None)
    if client is None:
        return Check("broker", ok=True, detail="in-process")
    try:
        client.ping()
    except Exception as error:
        return Check("broker", ok=False, detail=type(error).__name__)
    return Check("broker", ok=True, detail="redis")
