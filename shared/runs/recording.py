"""Recording a firing as a `received` run; a worker decides it after commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Table, and_, bindparam, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shared.activity.record import record_change
from shared.contract.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from shared.models import Routine, RoutineRun, RoutineTrigger
from shared.platform.prepared import Prepared
from shared.routines.variables import firing_layers, resolve
from shared.tenancy.access import may_assign_run, may_manage_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible
from shared.tenancy.references import check_assignee, check_project

TRIGGER_NOT_FOUND = "Routine trigger not found"


@dataclass(frozen=True)
class Recorded:
    run: RoutineRun
    #: False when an idempotency key matched an earlier run, which is returned instead.
    created: bool


@dataclass(frozen=True)
class RunRequest:
    source: str
    trigger_id: uuid.UUID | None = None
    payload: Any = None
    variables: dict[str, Any] | None = None
    idempotency_key: str | None = None
    project_id: uuid.UUID | None = None
    assignee_agent_id: uuid.UUID | None = None
    execution_workspace: dict[str, Any] | None = None
    scheduled_for: datetime | None = None
    #: Hash of a timestamped webhook signature: recorded with the run under a unique
    #: index, so a delivery counts as seen only once it is recorded (API.md 5.3 replay).
    signature_hash: str | None = None
    #: A problem found while recording (a schedule tick without its variables): the run
    #: is decided `failed` with it.
    failure_reason: str | None = None
    #: The run this one replays (shared.runs.replay).
    replay_of_run_id: uuid.UUID | None = None


def request_manual_run(
    session: Session,
    principal: Principal,
    *,
    routine_id: str,
    request: RunRequest,
    now: datetime,
) -> Recorded:
    """The checks of API.md 5.1, in its order; nothing is recorded if one fails."""
    routine = load_visible(session, principal, Routine, routine_id, "Routine not found")
    may_manage_routine(principal, routine, assigns=True)
    may_assign_run(principal, request.assignee_agent_id)
    if routine.status == "archived":
        raise Conflict("Routine is archived")
    if request.trigger_id is not None:
        _check_trigger(session, routine, request.trigger_id)
    check_project(session, routine.company_id, request.project_id)
    check_assignee(session, routine.company_id, request.assignee_agent_id)
    if (request.assignee_agent_id or routine.assignee_agent_id) is None:
        raise Unprocessable("Default agent required")
    _check_scalars(request.variables)
    layers = firing_layers(request=request.variables, payload=request.payload)
    request = replace(request, variables=resolve(routine.variables or [], layers))
    run_by = {
        "requested_by_agent_id": principal.agent_id,
        "requested_by_user_id": principal.user_id,
    }
    recorded = record_run(session, routine=routine, request=request, now=now, **run_by)
    if recorded.created:
        record_change(
            session, actor=principal, verb="requested", row=recorded.run, before=None, now=now
        )
    return recorded


def record_run(
    session: Session, *, routine: Routine, request: RunRequest, now: datetime, **extra: Any
) -> Recorded:
    """Insert the run unless its idempotency key, tick or signature is taken; the unique
    indexes decide, so concurrent duplicates are safe without any read-then-write. A
    signature already recorded is a replay (409); a key or tick already recorded returns
    the run that holds it."""
    values = run_values(
        request, company_id=routine.company_id, routine_id=routine.id, now=now, **extra
    )
    if insert_run(session, values):
        # Built from what was inserted: no second round trip to read it back.
        return Recorded(run=RoutineRun(**values), created=True)
    return Recorded(run=run_holding(session, values), created=False)


#: The columns a new run is inserted with (run_values); the rest start NULL.
NEW_RUN_COLUMNS = (
    "id",
    "company_id",
    "routine_id",
    "trigger_id",
    "source",
    "status",
    "triggered_at",
    "scheduled_for",
    "idempotency_key",
    "idempotency_scope",
    "signature_hash",
    "trigger_payload",
    "variables",
    "project_id_override",
    "assignee_agent_id_override",
    "execution_workspace",
    "failure_reason",
    "replay_of_run_id",
    "requested_by_agent_id",
    "requested_by_user_id",
    "created_at",
    "updated_at",
)


def run_values(
    request: RunRequest,
    *,
    company_id: uuid.UUID,
    routine_id: uuid.UUID,
    now: datetime,
    **extra: Any,
) -> dict[str, Any]:
    """Every column of a new `received` run: a Core insert skips the ORM's defaults."""
    key = request.idempotency_key or None
    return {
        "id": uuid.uuid4(),
        "company_id": company_id,
        "routine_id": routine_id,
        "trigger_id": request.trigger_id,
        "source": request.source,
        "status": "received",
        "triggered_at": now,
        "scheduled_for": request.scheduled_for,
        "idempotency_key": key,
        "idempotency_scope": f"{request.source}:{request.trigger_id or '-'}" if key else None,
        "signature_hash": request.signature_hash,
        "trigger_payload": request.payload,
        "variables": request.variables,
        "project_id_override": request.project_id,
        "assignee_agent_id_override": request.assignee_agent_id,
        "execution_workspace": request.execution_workspace,
        "failure_reason": request.failure_reason,
        "replay_of_run_id": request.replay_of_run_id,
        "requested_by_agent_id": None,
        "requested_by_user_id": None,
        "created_at": now,
        "updated_at": now,
        **extra,
    }


#: One statement per dialect, built once: the values travel as bind parameters, so
#: SQLAlchemy compiles it once per process instead of once per fire.
_RUNS = cast(Table, RoutineRun.__table__)
#: On PostgreSQL, planned once per connection too (shared.platform.prepared): every column is
#: a bind parameter, so `values` must name them all, as run_values does.
_PREPARED_INSERT_RUN = Prepared(
    "routines_insert_run",
    pg_insert(_RUNS)
    .values({name: bindparam(name) for name in NEW_RUN_COLUMNS})
    .on_conflict_do_nothing(),
)
_SQLITE_INSERT_RUN = sqlite_insert(_RUNS).on_conflict_do_nothing()


def insert_run(bind: Session | Connection, values: dict[str, Any]) -> bool:
    """Whether the run was inserted; False when a unique index already holds its key."""
    connection = bind.connection() if isinstance(bind, Session) else bind
    if connection.dialect.name == "postgresql":
        return _PREPARED_INSERT_RUN.rowcount(connection, values) == 1
    return connection.execute(_SQLITE_INSERT_RUN, values).rowcount == 1


def run_holding(session: Session, values: dict[str, Any]) -> RoutineRun:
    """The run that holds a key `values` collided on: a replayed signature is a 409,
    a repeated idempotency key or tick answers with the run recorded first."""
    keys = _unique_keys(values)
    holders = list(session.scalars(select(RoutineRun).where(or_(*keys)))) if keys else []
    signature = values["signature_hash"]
    if signature and any(run.signature_hash == signature for run in holders):
        raise Conflict("Webhook replay detected")
    if not holders:
        raise Conflict("Run already recorded")
    return holders[0]


def _unique_keys(values: dict[str, Any]) -> list[ColumnElement[bool]]:
    """One condition per unique index a new run's values could collide on."""
    keys: list[ColumnElement[bool]] = []
    if values["scheduled_for"] is not None:
        keys.append(
            and_(
                RoutineRun.trigger_id == values["trigger_id"],
                RoutineRun.scheduled_for == values["scheduled_for"],
            )
        )
    if values["idempotency_key"] is not None:
        keys.append(
            and_(
                RoutineRun.routine_id == values["routine_id"],
                RoutineRun.idempotency_scope == values["idempotency_scope"],
                RoutineRun.idempotency_key == values["idempotency_key"],
            )
        )
    if values["signature_hash"] is not None:
        keys.append(
            and_(
                RoutineRun.trigger_id == values["trigger_id"],
                RoutineRun.signature_hash == values["signature_hash"],
            )
        )
    return keys


def _check_trigger(session: Session, routine: Routine, trigger_id: uuid.UUID) -> None:
    trigger = session.get(RoutineTrigger, trigger_id)
    if trigger is None or trigger.company_id != routine.company_id:
        raise NotFound(TRIGGER_NOT_FOUND)
    if trigger.routine_id != routine.id:
        raise Forbidden("Trigger does not belong to routine")
    if not trigger.enabled:
        raise Conflict("Routine trigger is not active")


def _check_scalars(variables: dict[str, Any] | None) -> None:
    problems = [
        {"path": ["variables", name], "message": "Expected string, number, boolean or null"}
        for name, value in (variables or {}).items()
        if value is not None and not isinstance(value, str | int | float | bool)
    ]
    if problems:
        raise Invalid("Validation error", details=problems)
