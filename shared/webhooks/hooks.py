"""What a webhook delivery needs of its trigger, secret and routine, and the copy of it
each web process keeps so that an accepted fire is one statement, not two.

The copy is never trusted on its own: the run's insert only happens if the trigger and
the routine still hold every value the delivery was judged by
(`INSERT ... SELECT ... WHERE enabled AND status = 'active' AND md5(ROW(...)) = ...`,
the look-up having read the same md5). Any
change since (a paused routine, a rotated secret, new variables, a disabled or deleted
trigger), by whoever made it, leaves the insert with no row, and the delivery is then
handled from a fresh look-up exactly as without the copy. A delivery the copy would
refuse (its signature does not verify, the routine looks inactive) is also looked up
afresh before it is refused, so a stale copy can never turn a good delivery away.

Values rather than row versions: deciding a run updates its routine and trigger rows
(`last_triggered_at`, `last_fired_at`), so their `xmin` changes many times a second
under load while nothing a delivery depends on does. The inserts of the deliveries a
process's threads accept at one moment are one statement (shared.platform.grouping).
SQLite keeps no copy: there, every fire looks up.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, String, bindparam, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from shared.models import Routine, RoutineTrigger, Secret
from shared.platform.db import single_statements
from shared.platform.grouping import Group
from shared.platform.prepared import Prepared
from shared.runs.recording import NEW_RUN_COLUMNS

log = logging.getLogger(__name__)

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
    #: Everything above a delivery is judged by, as PostgreSQL writes it (FINGERPRINT).
    fingerprint: str


@dataclass(frozen=True)
class KnownHook:
    """A hook with its secrets opened, as a process keeps it between deliveries."""

    hook: Hook
    secret: str
    #: The previous secret opened, or None when there is none or no key opens it.
    previous_secret: str | None


_Previous = aliased(Secret, name="previous_secret")


def _fingerprint(trigger: str, routine: str) -> str:
    """What a delivery is judged by, for the trigger and routine rows named so, as one
    md5: the same expression in the look-up and in the insert that checks it, so one
    parameter carries what seven compared values did (each bound value costs the
    driver about 2 µs to quote). `enabled` and the routine's status are checked on their
    own, since a copy that holds them false is never used to insert."""
    columns = ", ".join(
        (
            f"{trigger}.company_id",
            f"{trigger}.routine_id",
            f"{trigger}.label",
            f"{trigger}.signing_mode",
            f"{trigger}.replay_window_sec",
            f"{trigger}.secret_id",
            f"{trigger}.previous_secret_id",
            f"{trigger}.previous_secret_expires_at",
            f"{routine}.variables",
        )
    )
    return f"md5(CAST(ROW({columns}) AS text))"


class _Fingerprint(FunctionElement[str]):
    """The look-up's md5 of what a delivery is judged by; on SQLite, which keeps no copy
    of a trigger (and has no md5), an empty text."""

    type = String()
    name = "fingerprint"
    inherit_cache = True


@compiles(_Fingerprint)
def _fingerprint_sql(_element: _Fingerprint, _compiler: Any, **_kw: Any) -> str:
    return _fingerprint("routine_triggers", "routines")


@compiles(_Fingerprint, "sqlite")
def _no_fingerprint(_element: _Fingerprint, _compiler: Any, **_kw: Any) -> str:
    return "''"


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
        _Fingerprint().label("fingerprint"),
    )
    .join(Secret, Secret.id == RoutineTrigger.secret_id)
    .join(Routine, Routine.id == RoutineTrigger.routine_id)
    .outerjoin(_Previous, _Previous.id == RoutineTrigger.previous_secret_id)
    .where(RoutineTrigger.public_id == bindparam("public_id"), RoutineTrigger.kind == "webhook"),
)

#: What a known delivery sends of its run (the rest is the trigger's, or fixed).
_SENT = (
    "id uuid",
    "trigger_id uuid",
    "at timestamptz",
    "idempotency_key text",
    "idempotency_scope text",
    "signature_hash text",
    "trigger_payload jsonb",
    "variables jsonb",
    "fingerprint text",
)
#: Each column of a new run, from what was sent (v), the trigger (k), or fixed.
_FROM = {
    "id": "v.id",
    "company_id": "k.company_id",
    "routine_id": "k.routine_id",
    "trigger_id": "k.id",
    "source": "'webhook'",
    "status": "'received'",
    "triggered_at": "v.at",
    "idempotency_key": "v.idempotency_key",
    "idempotency_scope": "v.idempotency_scope",
    "signature_hash": "v.signature_hash",
    "trigger_payload": "v.trigger_payload",
    "variables": "v.variables",
    "created_at": "v.at",
    "updated_at": "v.at",
}

#: The runs of deliveries judged by what a process knows, inserted only where the
#: trigger and routine still hold all of it: a run whose trigger changed (or whose
#: unique key is already held) is not inserted, and its id is not returned. The rows
#: travel as one JSON parameter, whatever their number (shared.platform.grouping).
INSERT_KNOWN = Prepared(
    "routines_insert_webhook_run",
    text(
        f"INSERT INTO routine_runs ({', '.join(NEW_RUN_COLUMNS)}) "  # noqa: S608
        f"SELECT {', '.join(_FROM.get(name, 'NULL') for name in NEW_RUN_COLUMNS)} "
        f"FROM json_to_recordset(CAST(:rows AS json)) AS v({', '.join(_SENT)}) "
        # Each row's trigger and routine by their keys: planned as a join, the rows
        # (estimated at 100) met every trigger and routine in a hash, read whole.
        "CROSS JOIN LATERAL (SELECT t.id, t.company_id, t.routine_id "
        "FROM routine_triggers AS t JOIN routines AS r ON r.id = t.routine_id "
        "WHERE t.id = v.trigger_id AND t.kind = 'webhook' AND t.enabled "
        f"AND r.status = 'active' AND {_fingerprint('t', 'r')} = v.fingerprint "
        "OFFSET 0) AS k "
        "ON CONFLICT DO NOTHING RETURNING id"
    ),
)
#: Inserts of known deliveries one web process runs at a time (shared.platform.grouping).
#: Two, as for decisions: with one, a commit that waited on a slow flush held every
#: delivery of the process behind it (p99 accept latency at half the full rate 241 ms,
#: against 11 ms with two), and two were faster at full speed as well.
INSERT_LANES = 2


def read_hook(connection: Connection, public_id: str) -> Hook | None:
    found = LOOKUP.execute(connection, {"public_id": public_id}).first()
    return None if found is None else Hook(*cast(tuple[Any, ...], found))


def known_row(hook: Hook, values: dict[str, Any]) -> dict[str, Any]:
    """A run's row as INSERT_KNOWN reads it: `values` from run_values, for `hook`."""
    return {
        "id": str(values["id"]),
        "trigger_id": str(hook.trigger_id),
        "at": values["created_at"].isoformat(),
        "idempotency_key": values["idempotency_key"],
        "idempotency_scope": values["idempotency_scope"],
        "signature_hash": values["signature_hash"],
        "trigger_payload": values["trigger_payload"],
        "variables": values["variables"],
        "fingerprint": hook.fingerprint,
    }


def insert_known(engine: Engine, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Whether each row went in, in one statement committed on its own. Rows go in a
    fixed order of their unique keys, so that two processes inserting the same keys
    wait for each other instead of deadlocking. An error that is about the rows, not
    the database (one row PostgreSQL refuses, a deadlock all the same) answers False
    for all of them: each delivery then takes the ordinary path alone, and only a row
    that is wrong on its own fails."""
    ordered = sorted(rows, key=_unique_keys)
    try:
        with single_statements(engine) as connection:
            found = INSERT_KNOWN.rows(connection, {"rows": json.dumps(ordered)})
    except DBAPIError as error:
        if isinstance(error, OperationalError | InterfaceError):
            raise  # the database is away: every delivery would fail alone as well
        log.warning("known deliveries' insert refused; each goes alone", exc_info=True)
        return [False] * len(rows)
    inserted = {str(row[0]) for row in found}
    return [row["id"] in inserted for row in rows]


def _unique_keys(row: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        row["idempotency_scope"] or "",
        row["idempotency_key"] or "",
        row["trigger_id"],
        row["signature_hash"] or "",
    )


class HookCache:
    """The hooks a web process fired recently, by public id (thread-safe, bounded)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._known: OrderedDict[str, KnownHook] = OrderedDict()
        self._lock = threading.Lock()
        self._inserts: Group[dict[str, Any], bool] = Group(INSERT_LANES)

    def insert(self, engine: Engine, hook: Hook, values: dict[str, Any]) -> bool:
        """Whether the run of a delivery judged by `hook` went in: False when the trigger
        or routine changed since `hook` was read, or when a unique key already holds the
        run (the caller then looks again). The deliveries this process's threads accept
        at one moment are inserted by one statement (group commit)."""
        return self._inserts.ask(known_row(hook, values), lambda rows: insert_known(engine, rows))

    def inserts_waiting(self) -> int:
        """Deliveries whose insert waits for the one in progress to end."""
        return self._inserts.waiting()

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
