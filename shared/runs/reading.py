"""Reading runs: summaries with their linked issue and trigger, newest first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from shared.contract.vocabulary import LIVE_ISSUE_STATUSES, ROUTINE_EXECUTION
from shared.models import Issue, Routine, RoutineRun, RoutineTrigger
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

M = TypeVar("M", Issue, RoutineTrigger)

RUN_NOT_FOUND = "Routine run not found"


#: Newest first. Runs recorded together (one catch-up pass) share `created_at`; they
#: list in tick order, the latest tick first, so a routine's last run is its latest tick.
def newest_first(run: Any) -> tuple[ColumnElement[Any], ...]:
    """That order over `run`: RoutineRun itself or an alias of it."""
    return (run.created_at.desc(), run.scheduled_for.desc().nulls_last(), run.id)


NEWEST_RUN_FIRST = newest_first(RoutineRun)
DEFAULT_LIMIT, MAX_LIMIT = 50, 200


@dataclass(frozen=True)
class RunSummary:
    run: RoutineRun
    linked_issue: Issue | None
    trigger: RoutineTrigger | None


def clamp_limit(raw: str | None) -> int:
    """Default 50, clamped to 1..200; anything that is not a number is the default."""
    try:
        value = int(raw) if raw is not None else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT
    return max(1, min(MAX_LIMIT, value))


def list_runs(
    session: Session, principal: Principal, *, routine_id: str, limit: int
) -> list[RunSummary]:
    routine = load_visible(session, principal, Routine, routine_id, "Routine not found")
    runs = session.scalars(
        select(RoutineRun)
        .where(RoutineRun.routine_id == routine.id)
        .order_by(*NEWEST_RUN_FIRST)
        .limit(limit)
    )
    return summarize_runs(session, list(runs))


def get_run(session: Session, principal: Principal, *, run_id: str) -> RunSummary:
    run = load_visible(session, principal, RoutineRun, run_id, RUN_NOT_FOUND)
    return summarize_runs(session, [run])[0]


def summarize_runs(session: Session, runs: list[RoutineRun]) -> list[RunSummary]:
    """Two batched look-ups for any number of runs, never one per run."""
    issue_ids = {run.linked_issue_id for run in runs if run.linked_issue_id}
    trigger_ids = {run.trigger_id for run in runs if run.trigger_id}
    issues = _by_id(session, Issue, issue_ids)
    triggers = _by_id(session, RoutineTrigger, trigger_ids)
    return [
        RunSummary(
            run=run,
            linked_issue=issues.get(run.linked_issue_id) if run.linked_issue_id else None,
            trigger=triggers.get(run.trigger_id) if run.trigger_id else None,
        )
        for run in runs
    ]


def latest_runs(session: Session, routine_ids: list[uuid.UUID]) -> dict[uuid.UUID, RunSummary]:
    """Each routine's newest run, one index probe per routine (a correlated `LIMIT 1`, the
    portable spelling of a LATERAL join) on ix_routine_runs_newest, which holds a routine's
    runs in this very order, so no plan reads a routine's history to find its newest run."""
    if not routine_ids:
        return {}
    newest = (
        select(RoutineRun.id)
        .where(RoutineRun.routine_id == Routine.id)
        .order_by(*NEWEST_RUN_FIRST)
        .limit(1)
        .correlate(Routine)
        .scalar_subquery()
    )
    newest_ids = select(newest).select_from(Routine).where(Routine.id.in_(routine_ids))
    runs = session.scalars(select(RoutineRun).where(RoutineRun.id.in_(newest_ids)))
    return {summary.run.routine_id: summary for summary in summarize_runs(session, list(runs))}


def live_issues(session: Session, routine_ids: list[uuid.UUID]) -> dict[uuid.UUID, Issue]:
    if not routine_ids:
        return {}
    rows = session.scalars(
        select(Issue)
        .where(
            Issue.origin_kind == ROUTINE_EXECUTION,
            Issue.origin_id.in_(routine_ids),
            Issue.status.in_(LIVE_ISSUE_STATUSES),
        )
        .order_by(Issue.created_at, Issue.number)
    )
    # Ascending order, so the newest issue of each routine is written last and wins.
    return {issue.origin_id: issue for issue in rows if issue.origin_id is not None}


def _by_id(session: Session, model: type[M], ids: set[uuid.UUID]) -> dict[uuid.UUID, M]:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def run_status(session: Session, run_id: uuid.UUID) -> str | None:
    return session.scalar(select(RoutineRun.status).where(RoutineRun.id == run_id))
