"""What a webhook delivery needs of its trigger, secret and routine, and the copy of it
each web process keeps so that an accepted fire is one statement, not two.

The copy is never trusted on its own: the run's insert only happens if the trigger and
the routine still hold every value the delivery was judged by
(`INSERT ... SELECT ... WHERE enabled AND status = 'active' AND secret_id = ...`). Any
change since (a paused routine, a rotated secret, new variables, a disabled or deleted
trigger), by whoever made it, leaves the insert with no row, and the delivery is then
handled from a fresh look-up exactly as without the copy. A delivery the copy would
refuse (its signature does not verify, the routine looks inactive) is also looked up
afresh before it is refused, so a stale copy can never turn a good delivery away.

Values rather than row versions: deciding a run updates its routine and trigger rows
(`last_triggered_at`, `last_fired_at`), so their `xmin` changes many times a second
under load while nothing a delivery depends on does. SQLite keeps no copy: there, every
fire looks up.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, select
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
    #: Which secrets those ciphertexts are (a re-encryption changes neither's value).
    secret_id: uuid.UUID
    previous_secret_id: uuid.UUID | None


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


#: The look-up: the trigger, its secret and its routine in one round trip, planned once
#: per connection (shared.platform.prepared); a fire only binds `public_id`.
LOOKUP = Prepared(
    "routines_webhook_lookup",
    select(
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
        RoutineTrigger.secret_id,
        RoutineTrigger.previous_secret_id,
    )
    .join(Secret, Secret.id == RoutineTrigger.secret_id)
    .join(Routine, Routine.id == RoutineTrigger.routine_id)
    .outerjoin(_Previous, _Previous.id == RoutineTrigger.previous_secret_id)
    .where(RoutineTrigger.public_id == bindparam("public_id"), RoutineTrigger.kind == "webhook"),
)

_RUNS = cast(Table, RoutineRun.__table__)
_T, _R = _TRIGGERS.c, _ROUTINES.c


def _same(column: Any, name: str) -> Any:
    return column.is_not_distinct_from(bindparam(name, type_=column.type))


#: A run inserted only while its trigger and routine still hold what a process knows of
#: them: zero rows when anything changed (or when a unique key already holds the run).
INSERT_IF_CURRENT = Prepared(
    "routines_insert_webhook_run",
    pg_insert(_RUNS)
    .from_select(
        list(NEW_RUN_COLUMNS),
        # PostgreSQL types an INSERT ... SELECT's parameters by the columns they fill.
        select(*(bindparam(name, type_=_RUNS.c[name].type) for name in NEW_RUN_COLUMNS))
        .select_from(_TRIGGERS.join(_ROUTINES, _R.id == _T.routine_id))
        .where(
            _T.id == bindparam("trigger_id"),
            _T.routine_id == bindparam("routine_id"),
            _T.kind == "webhook",
            _T.enabled.is_(True),
            _R.status == "active",
            _same(_T.label, "known_label"),
            _same(_T.signing_mode, "known_signing_mode"),
            _same(_T.replay_window_sec, "known_replay_window_sec"),
            _same(_T.secret_id, "known_secret_id"),
            _same(_T.previous_secret_id, "known_previous_secret_id"),
            _same(_T.previous_secret_expires_at, "known_previous_expires_at"),
            _same(_R.variables, "known_variables"),
        ),
    )
    .on_conflict_do_nothing(),
)


def read_hook(connection: Connection, public_id: str) -> Hook | None:
    found = LOOKUP.execute(connection, {"public_id": public_id}).first()
    return None if found is None else Hook(*cast(tuple[Any, ...], found))


def insert_if_current(connection: Connection, hook: Hook, values: dict[str, Any]) -> bool:
    """Whether the run went in: False when the trigger or routine changed since `hook`
    was read, or when a unique key already holds the run (the caller then looks again)."""
    known = {
        "known_label": hook.label,
        "known_signing_mode": hook.signing_mode,
        "known_replay_window_sec": hook.replay_window_sec,
        "known_secret_id": hook.secret_id,
        "known_previous_secret_id": hook.previous_secret_id,
        "known_previous_expires_at": hook.previous_expires_at,
        "known_variables": hook.variables,
    }
    return INSERT_IF_CURRENT.rowcount(connection, {**values, **known}) == 1


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
        with self._lock:
            self._known[public_id] = known
            self._known.move_to_end(public_id)
            while len(self._known) > self.capacity:
                self._known.popitem(last=False)

    def forget(self, public_id: str) -> None:
        with self._lock:
            self._known.pop(public_id, None)
