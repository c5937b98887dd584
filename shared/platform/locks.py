"""Row locks: the one order in which every transaction takes them.

Deciding runs, recording schedule ticks, editing routines and triggers and moving issues
all lock rows; taken in different orders they deadlock. The order, top to bottom (a
transaction that needs several takes them downwards, never upwards):

1. ``routines``: ``FOR NO KEY UPDATE``; several at once in ascending id order.
2. ``routine_triggers``: ``FOR NO KEY UPDATE``; several at once in ascending id order.
3. ``issues``: the execution issue being moved.
4. ``companies``: the issue counter, bumped by ``UPDATE ... RETURNING`` (a no-key-update
   lock) as late as possible, just before the issue insert.

A run's status changes only under its routine's lock (deciding, failing, following its
issue), so runs need no lock of their own and have no place in the order.

Deciding a batch of runs (shared.runs.deciding) takes each step once, for the whole
batch, with one statement that sorts before it locks:

1. the routines of the batch's runs (``lock_routines``); only then are their
   ``received`` runs read, since nobody else can change those any more;
2. the triggers of those runs (``lock_triggers``);
4. the companies that get new issues: one ``UPDATE`` bumps every counter by its count
   (``companies.allocate_issue_numbers``); with more than one company they are first
   locked in ascending id order (``lock_companies``), so that two batches naming the
   same companies queue instead of deadlocking.

Two batches may name overlapping routines, triggers or companies in any order; sorted
within each step and taking the steps downwards, neither ever waits for a row while
holding one the other needs first.

Recording ticks locks triggers only and inserts runs; it never waits on a routine. A
worker records a page of ticks, of many triggers, in one transaction: it locks all of
the page's triggers with one ``SELECT ... WHERE id IN (...) ORDER BY id FOR NO KEY
UPDATE`` (`lock_schedule_triggers`), so two pages that overlap take their common rows
in the same order and wait for each other instead of deadlocking.

Why ``FOR NO KEY UPDATE`` and never ``FOR UPDATE`` on a row that foreign keys point at:
inserting a run, trigger or issue takes a ``KEY SHARE`` lock on the routine, company,
project and agent it names. ``FOR UPDATE`` conflicts with ``KEY SHARE``, so a worker
deciding a routine's run would block every new fire of that routine, and a transaction
holding a trigger while inserting a run would deadlock with one holding the routine while
updating the trigger. ``FOR NO KEY UPDATE`` (also what a plain ``UPDATE`` that changes no
key takes) does not conflict with ``KEY SHARE``. Primary keys are never updated.

SQLite has no row locks: every transaction there takes the database's write lock up
front (``BEGIN IMMEDIATE``, see ``shared.platform.db``), which serializes writers instead.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Collection, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.models import Company, Routine, RoutineTrigger
from shared.platform.members import Member, PerDialect

#: `with_for_update` arguments for FOR NO KEY UPDATE.
NO_KEY_UPDATE: dict[str, Any] = {"key_share": True}

M = TypeVar("M")
#: A column to read while locking: a mapped attribute or any column expression.
Column = ColumnElement[Any] | InstrumentedAttribute[Any]
Locked = type[Routine] | type[RoutineTrigger] | type[Company]

#: What recording a page of schedule ticks reads of its triggers (lock_schedule_triggers).
SCHEDULE_TRIGGER_COLUMNS: tuple[Column, ...] = (
    RoutineTrigger.id,
    RoutineTrigger.routine_id,
    RoutineTrigger.kind,
    RoutineTrigger.enabled,
    RoutineTrigger.cron_expression,
    RoutineTrigger.timezone,
    RoutineTrigger.next_run_at,
)


def lock_row(session: Session, model: type[M], row_id: uuid.UUID) -> M | None:
    """The row, locked FOR NO KEY UPDATE and re-read (not served from the identity map)."""
    return session.get(model, row_id, with_for_update=NO_KEY_UPDATE, populate_existing=True)


def lock_routine(session: Session, routine_id: uuid.UUID) -> Routine | None:
    """Step 1 of the order: everything that changes a routine's runs holds this."""
    return lock_row(session, Routine, routine_id)


def lock_in_id_order(
    session: Session,
    model: Locked,
    ids: Collection[uuid.UUID],
    columns: Sequence[Column],
    *,
    prepared: bool = False,
) -> Sequence[Row[Any]]:
    """Several rows of one table (those that still exist) locked by one statement in
    ascending id order (PostgreSQL locks rows as the sort hands them over), so two
    transactions that share rows queue behind each other instead of deadlocking. The
    ids are one parameter (shared.platform.members): one statement shape whatever the
    count, built once per table and columns; `prepared` for a path that runs it in every
    transaction (deciding runs), so PostgreSQL also plans it once per connection."""
    if not ids:
        return []
    key = (model, tuple(columns), prepared)
    statement = _LOCKS.get(key)
    if statement is None:
        name = _name(model, columns) if prepared else None
        statement = _LOCKS[key] = PerDialect(
            lambda member: _locking(model, columns, member), prepared=name
        )
    return statement.execute(session.connection(), {"ids": list(ids)}).all()


def _name(model: Locked, columns: Sequence[Column]) -> str:
    """The prepared name of a lock: the same for the same table and columns in every
    thread, whichever builds it first, and short enough for PostgreSQL (63 bytes)."""
    digest = zlib.crc32(" ".join(str(column) for column in columns).encode())
    return f"routines_lock_{model.__tablename__}_{digest:08x}"


def _locking(model: Locked, columns: Sequence[Column], member: Member) -> Select[Any]:
    query = select(*columns).where(member(model.__table__.c.id, "ids"))
    return query.order_by(model.id).with_for_update(**NO_KEY_UPDATE)


#: The statements of lock_in_id_order, by table, columns and whether prepared (a handful).
_LOCKS: dict[tuple[Locked, tuple[Column, ...], bool], PerDialect[Select[Any]]] = {}


def lock_routines(
    session: Session,
    routine_ids: Collection[uuid.UUID],
    columns: Sequence[Column],
    *,
    prepared: bool = False,
) -> Sequence[Row[Any]]:
    """Step 1 for a batch."""
    return lock_in_id_order(session, Routine, routine_ids, columns, prepared=prepared)


def lock_triggers(
    session: Session,
    trigger_ids: Collection[uuid.UUID],
    columns: Sequence[Column],
    *,
    prepared: bool = False,
) -> Sequence[Row[Any]]:
    """Step 2 for a batch."""
    return lock_in_id_order(session, RoutineTrigger, trigger_ids, columns, prepared=prepared)


def lock_companies(session: Session, company_ids: Sequence[uuid.UUID]) -> None:
    """Step 4 for several companies at once, just before their issue counters are bumped
    together."""
    lock_in_id_order(session, Company, company_ids, (Company.id,))


def lock_schedule_triggers(
    session: Session, trigger_ids: Sequence[uuid.UUID]
) -> Sequence[Row[Any]]:
    """Step 2 for a page of schedule ticks: the columns it needs, as rows (no ORM objects
    on this hot path); deleted triggers are simply absent."""
    return lock_triggers(session, trigger_ids, SCHEDULE_TRIGGER_COLUMNS)
