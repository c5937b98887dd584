"""Replaying a run: the same event recorded again as a new run, decided like any other.
This is how an operator re-delivers an event whose agent work failed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from shared.activity.record import record_change
from shared.contract.errors import Conflict
from shared.models import Routine, RoutineRun, RoutineTrigger
from shared.runs.reading import RUN_NOT_FOUND
from shared.runs.recording import RunRequest, record_run
from shared.tenancy.access import may_assign_run, may_manage_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

TRIGGER_DELETED = "Routine trigger was deleted"
TRIGGER_DISABLED = "Routine trigger is not active"


def replay_run(session: Session, principal: Principal, *, run_id: str, now: datetime) -> RoutineRun:
    """A new `received` run with the original's routine, trigger, source, payload,
    variables and overrides, `replay_of_run_id` set. Who may: as for a manual run. It
    has no idempotency key, tick or signature of its own, so none of the original's
    unique keys can hold it back; the original is not touched."""
    original = load_visible(session, principal, RoutineRun, run_id, RUN_NOT_FOUND)
    routine = session.get(Routine, original.routine_id)
    assert routine is not None  # runs go with their routine (ON DELETE CASCADE)
    may_manage_routine(principal, routine, assigns=True)
    may_assign_run(principal, original.assignee_agent_id_override)
    if routine.status == "archived":
        raise Conflict("Routine is archived")
    if original.trigger_id is not None:
        _check_trigger(session, original.trigger_id)
    request = RunRequest(
        source=original.source,
        trigger_id=original.trigger_id,
        payload=original.trigger_payload,
        variables=original.variables,
        project_id=original.project_id_override,
        assignee_agent_id=original.assignee_agent_id_override,
        execution_workspace=original.execution_workspace,
        replay_of_run_id=original.id,
    )
    run = record_run(
        session,
        routine=routine,
        request=request,
        now=now,
        requested_by_agent_id=principal.agent_id,
        requested_by_user_id=principal.user_id,
    ).run
    record_change(session, actor=principal, verb="replayed", row=run, before=None, now=now)
    return run


def _check_trigger(session: Session, trigger_id: uuid.UUID) -> None:
    """A run keeps its trigger's id after the trigger is deleted (no foreign key)."""
    trigger = session.get(RoutineTrigger, trigger_id)
    if trigger is None:
        raise Conflict(TRIGGER_DELETED)
    if not trigger.enabled:
        raise Conflict(TRIGGER_DISABLED)
