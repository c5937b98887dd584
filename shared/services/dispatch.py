"""Deciding a run (API.md section 6): one routine at a time, under its row lock
(locks in the order of shared.locks)."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.locks import lock_routine, lock_trigger
from shared.models import Agent, Issue, Project, Routine, RoutineRun, RoutineTrigger
from shared.services.issues import new_issue
from shared.services.runs import live_issue
from shared.templates import render
from shared.variables import render_values
from shared.vocabulary import ROUTINE_EXECUTION


class Outcome(enum.StrEnum):
    ISSUE_CREATED = "issue_created"
    COALESCED = "coalesced"
    SKIPPED = "skipped"
    FAILED = "failed"
    #: Another delivery of the same message got there first: nothing to do.
    ALREADY_DECIDED = "already_decided"
    MISSING = "missing"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    run_id: uuid.UUID
    issue_id: uuid.UUID | None = None
    source: str | None = None
    #: When the run was recorded, for the fire-to-decision latency.
    recorded_at: datetime | None = None


RESULT_CREATED = "Created execution issue {}"
RESULT_COALESCED = "Coalesced into an existing live execution issue"
RESULT_SKIPPED_LIVE = "Skipped because a live execution issue already exists"
RESULT_SKIPPED_PAUSED = "Skipped because the project is paused"
RESULT_FAILED = "Execution failed"


def dispatch_run(session: Session, *, run_id: uuid.UUID, now: datetime) -> Decision:
    """Safe to call any number of times per run: only a `received` run is decided."""
    loaded = _load_undecided(session, run_id)
    if isinstance(loaded, Decision):
        return loaded
    return _decide(session, *loaded, now=now)


def fail_run(session: Session, *, run_id: uuid.UUID, reason: str, now: datetime) -> Decision:
    """Record an unexpected dispatch error on a run nobody decided yet."""
    loaded = _load_undecided(session, run_id)
    if isinstance(loaded, Decision):
        return loaded
    run, routine, trigger = loaded
    return _finish(
        run, routine, trigger, Outcome.FAILED, now=now, reason=reason, result=RESULT_FAILED
    )


def _load_undecided(
    session: Session, run_id: uuid.UUID
) -> tuple[RoutineRun, Routine, RoutineTrigger | None] | Decision:
    """The run with its routine and trigger locked in the order of shared.locks; the run
    is read after the routine lock, since its status only changes under that lock."""
    routine_id = session.scalar(select(RoutineRun.routine_id).where(RoutineRun.id == run_id))
    routine = lock_routine(session, routine_id) if routine_id is not None else None
    run = session.get(RoutineRun, run_id, populate_existing=True) if routine else None
    if routine is None or run is None:
        return Decision(Outcome.MISSING, run_id)
    if run.status != "received":
        return Decision(Outcome.ALREADY_DECIDED, run_id, run.linked_issue_id, run.source)
    trigger = lock_trigger(session, run.trigger_id) if run.trigger_id else None
    return run, routine, trigger


def _decide(
    session: Session,
    run: RoutineRun,
    routine: Routine,
    trigger: RoutineTrigger | None,
    *,
    now: datetime,
) -> Decision:
    if run.failure_reason is not None:
        # Recorded with a problem it could not fire with (a schedule tick whose required
        # variables have no default): decided here, under the routine lock, like any run.
        return _finish(
            run,
            routine,
            trigger,
            Outcome.FAILED,
            now=now,
            reason=run.failure_reason,
            result=RESULT_FAILED,
        )
    stale = _stale_reason(run, routine, trigger)
    if stale is not None:
        return _finish(run, routine, trigger, Outcome.SKIPPED, now=now, reason=stale)
    project_id = run.project_id_override or routine.project_id
    project = session.get(Project, project_id) if project_id else None
    if project is not None and project.paused_at is not None:
        return _finish(
            run,
            routine,
            trigger,
            Outcome.SKIPPED,
            now=now,
            reason="paused",
            result=RESULT_SKIPPED_PAUSED,
        )
    assignee_id = run.assignee_agent_id_override or routine.assignee_agent_id
    assignee = session.get(Agent, assignee_id) if assignee_id else None
    unassignable = _unassignable_reason(assignee)
    if unassignable is not None:
        return _finish(
            run,
            routine,
            trigger,
            Outcome.FAILED,
            now=now,
            reason=unassignable,
            result=RESULT_FAILED,
        )
    live = live_issue(session, routine.id)
    if live is not None and routine.concurrency_policy != "always_enqueue":
        coalesce = routine.concurrency_policy == "coalesce_if_active"
        return _finish(
            run,
            routine,
            trigger,
            Outcome.COALESCED if coalesce else Outcome.SKIPPED,
            now=now,
            issue=live,
            result=RESULT_COALESCED if coalesce else RESULT_SKIPPED_LIVE,
        )
    assert assignee is not None
    issue = _create_execution_issue(session, run=run, routine=routine, assignee=assignee, now=now)
    return _finish(
        run,
        routine,
        trigger,
        Outcome.ISSUE_CREATED,
        now=now,
        issue=issue,
        result=RESULT_CREATED.format(issue.id),
    )


def _stale_reason(run: RoutineRun, routine: Routine, trigger: RoutineTrigger | None) -> str | None:
    """Things that changed between accepting the firing and deciding it."""
    if routine.status == "archived":
        return "Routine is archived"
    if run.trigger_id is not None and trigger is None:
        return "Routine trigger was deleted"
    if trigger is not None and not trigger.enabled:
        return "Routine trigger is not active"
    if run.source in ("schedule", "webhook") and routine.status != "active":
        return "Routine is not active"
    return None


def _unassignable_reason(assignee: Agent | None) -> str | None:
    if assignee is None:
        return "Default agent required"
    if assignee.status in ("terminated", "pending_approval"):
        return f"Assignee agent is {assignee.status.replace('_', ' ')}"
    return None


def _create_execution_issue(
    session: Session, *, run: RoutineRun, routine: Routine, assignee: Agent, now: datetime
) -> Issue:
    values = render_values(run)
    workspace = run.execution_workspace or {}
    manual = run.source == "manual"
    return new_issue(
        session,
        company_id=routine.company_id,
        now=now,
        title=(render(routine.title, values) or routine.title)[:500],
        description=render(routine.description, values),
        status="todo",
        priority=routine.priority,
        assignee_agent_id=assignee.id,
        project_id=run.project_id_override or routine.project_id,
        goal_id=routine.goal_id,
        parent_id=routine.parent_issue_id,
        origin_kind=ROUTINE_EXECUTION,
        origin_id=routine.id,
        origin_run_id=run.id,
        created_by_agent_id=run.requested_by_agent_id if manual else None,
        created_by_user_id=run.requested_by_user_id if manual else None,
        execution_workspace_id=workspace.get("id"),
        execution_workspace_preference=workspace.get("preference"),
        execution_workspace_settings=workspace.get("settings"),
    )


def _finish(
    run: RoutineRun,
    routine: Routine,
    trigger: RoutineTrigger | None,
    outcome: Outcome,
    *,
    now: datetime,
    reason: str | None = None,
    issue: Issue | None = None,
    result: str | None = None,
) -> Decision:
    run.status = outcome.value
    run.failure_reason = reason
    run.decided_at = now
    run.updated_at = now
    if issue is not None:
        run.linked_issue_id = issue.id
        if outcome is not Outcome.ISSUE_CREATED:
            run.coalesced_into_run_id = issue.origin_run_id
    if outcome is not Outcome.ISSUE_CREATED:
        run.completed_at = now
    routine.last_triggered_at = now
    if issue is not None:
        routine.last_enqueued_at = now
    if trigger is not None:
        trigger.last_fired_at = now
        trigger.last_result = result or f"Skipped: {reason}"
    return Decision(outcome, run.id, issue.id if issue else None, run.source, run.created_at)
