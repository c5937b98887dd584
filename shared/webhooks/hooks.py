"""What a webhook delivery needs of its trigger, secret and routine, and the copy of it
each web process keeps so that an accepted fire is one statement, not two.

The copy is never trusted on its own: it carries the row versions (PostgreSQL's `xmin`)
of the trigger and the routine it was read from, and the run's insert only happens if
both rows are still those versions (`INSERT ... SELECT ... WHERE xmin = ...`). Any
change since (a paused routine, a rotated secret, new variables, a disabled or deleted
trigger) leaves the insert with no row, and the delivery is then handled from a fresh
look-up exactly as without the copy. A delivery the copy would refuse (its signature
does not verify, the routine looks inactive) is also looked up afresh before it is
refused, so a stale copy can never turn a good delivery away.

xmin changes with every update of a row, whoever makes it, so no write path has to
remember to invalidate anything. SQLite has no row versions: there, every fire looks up.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, Text, bindparam, literal_column, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from shared.models import Routine, RoutineRun, RoutineTrigger, Secret
from shared.platform.prepared import Prepared
from shared.runs.recording import NEW_RUN_COLUMNS

#: Triggers whose copies a process keeps; the least recently fired goes first.
CAPACITY = 10_000


@dataclass(frozen=True)
class Hook:
    """Plain columns read by one statement, no ORM objects built on the hot path."""

    trigger_id: uuid.UUID
    company_id: uuid.UUID
    routine_id: uuid.UUID
    kind: str
    label: str | None
    enabled: bool
    signing_mode: str | None
    replay_window_sec: int | None
    ciphertext: str
    routine_status: str
    variables: list[Any] | None
    #: The secret a rotation with a grace replaced, and when it stops verifying.
    previous_ciphertext: str | None
    previous_expires_at: datetime | None
    #: Row versions of the trigger and the routine this was read from (None on SQLite).
    trigger_version: str | None
    routine_version: str | None


@dataclass(frozen=True)
class KnownHook:
    """A hook with its secrets opened, as a process keeps it between deliveries."""

    hook: Hook
    secret: str
    #: The previous secret opened, or None when there is none or no key opens it.
    previous_secret: str | None


_Previous = aliased(Secret, name="previous_secret")
_TRIGGERS = cast(Table, RoutineTrigger.__table__)
_ROUTINES = cast(Table, Routine.__table__)


def _version(table: Table) -> Any:
    return sql_cast(literal_column(f"{table.name}.xmin"), Text)


_COLUMNS = (
    RoutineTrigger.id.label("trigger_id"),
    RoutineTrigger.company_id,
    RoutineTrigger.routine_id,
    RoutineTrigger.kind,
    RoutineTrigger.label,
    RoutineTrigger.enabled,
    RoutineTrigger.signing_mode,
    RoutineTrigger.replay_window_sec,
    Secret.ciphertext,
    Routine.status.label("routine_status"),
    Routine.variables,
    _Previous.ciphertext.label("previous_ciphertext"),
    RoutineTrigger.previous_secret_expires_at,
)


def _lookup(*versions: Any) -> Select[Any]:
    return (
        select(*_COLUMNS, *versions)
        .join(Secret, Secret.id == RoutineTrigger.secret_id)
        .join(Routine, Routine.id == RoutineTrigger.routine_id)
        .outerjoin(_Previous, _Previous.id == RoutineTrigger.previous_secret_id)
        .where(RoutineTrigger.public_id == bindparam("public_id"), RoutineTrigger.kind == "webhook")
    )


#: The look-up: the trigger, its secret and its routine in one round trip, planned once
#: per connection (shared.platform.prepared); a fire only binds `public_id`.
LOOKUP = Prepared(
    "routines_webhook_lookup",
    _lookup(
        _version(_TRIGGERS).label("trigger_version"), _version(_ROUTINES).label("routine_version")
    ),
)
#: The same on SQLite, which has no row versions.
SQLITE_LOOKUP = _lookup()

_RUNS = cast(Table, RoutineRun.__table__)
#: A run inserted only while its trigger and routine are the versions a process knows:
#: zero rows when either changed (or when a unique key already holds the run).
INSERT_IF_CURRENT = Prepared(
    "routines_insert_webhook_run",
    pg_insert(_RUNS)
    .from_select(
        list(NEW_RUN_COLUMNS),
        # PostgreSQL types an INSERT ... SELECT's parameters by the columns they fill.
        select(*(bindparam(name, type_=_RUNS.c[name].type) for name in NEW_RUN_COLUMNS))
        .select_from(_TRIGGERS.join(_ROUTINES, _ROUTINES.c.id == _TRIGGERS.c.routine_id))
        .where(
            _TRIGGERS.c.id == bindparam("trigger_id"),
            _version(_TRIGGERS) == bindparam("trigger_version"),
            _version(_ROUTINES) == bindparam("routine_version"),
        ),
    )
    .on_conflict_do_nothing(),
)


def read_hook(connection: Connection, public_id: str) -> Hook | None:
    if connection.dialect.name == "postgresql":
        row = LOOKUP.execute(connection, {"public_id": public_id}).first()
        return None if row is None else Hook(*cast(tuple[Any, ...], row))
    found = connection.execute(SQLITE_LOOKUP, {"public_id": public_id}).first()
    if found is None:
        return None
    columns: tuple[Any, ...] = (*found, None, None)  # no row versions
    return Hook(*columns)


def insert_if_current(connection: Connection, hook: Hook, values: dict[str, Any]) -> bool:
    """Whether the run went in: False when the trigger or routine changed since `hook`
    was read, or when a unique key already holds the run (the caller then looks again)."""
    versions = {"trigger_version": hook.trigger_version, "routine_version": hook.routine_version}
    return INSERT_IF_CURRENT.execute(connection, {**values, **versions}).rowcount == 1


class HookCache:
    """The hooks a web process fired recently, by public id (thread-safe, bounded)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._known: OrderedDict[str, KnownHook] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, public_id: str) -> KnownHook | None:
        with self._lock:
            known = self._known.get(public_id)
            if known is not None:
                self._known.move_to_end(public_id)
            return known

    def put(self, public_id: str, known: KnownHook) -> None:
        if known.hook.trigger_version is None:
            return  # no row versions to check it by (SQLite)
        with self._lock:
            self._known[public_id] = known
            self._known.move_to_end(public_id)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)

    def forget(self, public_id: str) -> None:
        with self._lock:
            self._known.pop(public_id, None)
