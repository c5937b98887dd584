"""The set-based statements that record a page of schedule ticks, built once per dialect.

Built at import with bind parameters only, so SQLAlchemy compiles each shape once and a
page costs the same few statements whatever its size: one multi-row insert of the runs
(SQLAlchemy's "insertmanyvalues" turns the executemany into `INSERT ... VALUES (...),
(...) ... ON CONFLICT DO NOTHING RETURNING`, on PostgreSQL and on SQLite 3.35+), and one
compare-and-set update of next_run_at (`unnest` of arrays on PostgreSQL; an executemany
on SQLite, where one writer holds the database anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.models import Base, RoutineRun, RoutineTrigger

_RUNS = Base.metadata.tables[RoutineRun.__tablename__]
_TRIGGERS = Base.metadata.tables[RoutineTrigger.__tablename__]

#: The unique (trigger_id, scheduled_for) index decides duplicates; RETURNING names the
#: rows this statement made, so a tick another worker recorded first yields nothing.
_INSERT_RUNS = {
    "postgresql": pg_insert(_RUNS)
    .on_conflict_do_nothing()
    .returning(_RUNS.c.id, _RUNS.c.trigger_id, _RUNS.c.scheduled_for),
    "sqlite": sqlite_insert(_RUNS)
    .on_conflict_do_nothing()
    .returning(_RUNS.c.id, _RUNS.c.trigger_id, _RUNS.c.scheduled_for),
}

_MOVE_PG = text(
    "UPDATE routine_triggers AS t SET next_run_at = v.next_run_at "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:dues AS timestamptz[]), "
    "CAST(:nexts AS timestamptz[])) AS v(id, due_at, next_run_at) "
    "WHERE t.id = v.id AND t.next_run_at = v.due_at"
)
_MOVE_ROW = (
    update(_TRIGGERS)
    .where(_TRIGGERS.c.id == bindparam("b_id"), _TRIGGERS.c.next_run_at == bindparam("b_due"))
    .values(next_run_at=bindparam("b_next"))
)


def insert_runs(
    connection: Connection, rows: Sequence[dict[str, Any]]
) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
    """Insert the runs unless their tick is taken; (id, trigger_id, scheduled_for) of
    each one inserted, in no particular order."""
    if not rows:
        return []
    result = connection.execute(_INSERT_RUNS[connection.dialect.name], list(rows))
    return [(row[0], row[1], row[2]) for row in result]


def move_next_runs(
    connection: Connection, moves: Sequence[tuple[uuid.UUID, datetime, datetime]]
) -> int:
    """Set next_run_at for each (trigger, seen due_at, next) where it still equals the
    seen value (compare-and-set); how many triggers moved."""
    if not moves:
        return 0
    if connection.dialect.name == "postgresql":
        params = {
            "ids": [str(trigger_id) for trigger_id, _, _ in moves],
            "dues": [due for _, due, _ in moves],
            "nexts": [following for _, _, following in moves],
        }
        moved: int = connection.execute(_MOVE_PG, params).rowcount
        return moved
    rows = [{"b_id": t, "b_due": due, "b_next": following} for t, due, following in moves]
    moved = connection.execute(_MOVE_ROW, rows).rowcount
    return moved  # noqa: RET504 (typed: rowcount is not on every Result)
