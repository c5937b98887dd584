"""Reading routines: a company's list page and one routine's detail, each with its
triggers, latest runs and live issue read for the shown routines only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from shared.contract.ids import maybe_uuid
from shared.contract.paging import Page, PageRequest, asc, desc, order
from shared.models import Agent, Company, Issue, Project, Routine, RoutineRun, RoutineTrigger
from shared.routines.service import ROUTINE_NOT_FOUND
from shared.runs.reading import (
    NEWEST_RUN_FIRST,
    RunSummary,
    latest_runs,
    live_issues,
    summarize_runs,
)
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

RECENT_RUNS = 25


@dataclass(frozen=True)
class RoutineListItem:
    routine: Routine
    triggers: list[RoutineTrigger]
    last_run: RunSummary | None
    active_issue: Issue | None


@dataclass(frozen=True)
class RoutineDetail:
    routine: Routine
    project: Project | None
    assignee: Agent | None
    parent_issue: Issue | None
    triggers: list[RoutineTrigger]
    recent_runs: list[RunSummary]
    active_issue: Issue | None


#: Recently changed first, then by title (API.md 3), then id so equal rows keep one order.
ROUTINE_ORDER = order(desc(Routine.updated_at), asc(Routine.title), asc(Routine.id))


def list_routines(
    session: Session, company: Company, *, project_id: str | None, page: PageRequest
) -> Page[RoutineListItem]:
    """One page, and the triggers, last run and live issue of that page's routines only."""
    query = select(Routine).where(Routine.company_id == company.id)
    if project_id:
        wanted = maybe_uuid(project_id)
        query = query.where(Routine.project_id == wanted if wanted is not None else false())
    routines = ROUTINE_ORDER.fetch(session, query, page)
    ids = [routine.id for routine in routines.items]
    triggers = _triggers_by_routine(session, ids)
    last_runs = latest_runs(session, ids)
    active = live_issues(session, ids)
    return routines.with_items(
        [
            RoutineListItem(
                routine=routine,
                triggers=triggers.get(routine.id, []),
                last_run=last_runs.get(routine.id),
                active_issue=active.get(routine.id),
            )
            for routine in routines.items
        ]
    )


def routine_detail(session: Session, principal: Principal, *, routine_id: str) -> RoutineDetail:
    routine = load_visible(session, principal, Routine, routine_id, ROUTINE_NOT_FOUND)
    runs = session.scalars(
        select(RoutineRun)
        .where(RoutineRun.routine_id == routine.id)
        .order_by(*NEWEST_RUN_FIRST)
        .limit(RECENT_RUNS)
    )
    return RoutineDetail(
        routine=routine,
        project=session.get(Project, routine.project_id) if routine.project_id else None,
        assignee=session.get(Agent, routine.assignee_agent_id)
        if routine.assignee_agent_id
        else None,
        parent_issue=session.get(Issue, routine.parent_issue_id)
        if routine.parent_issue_id
        else None,
        triggers=_triggers_by_routine(session, [routine.id]).get(routine.id, []),
        recent_runs=summarize_runs(session, list(runs)),
        active_issue=live_issues(session, [routine.id]).get(routine.id),
    )


def _triggers_by_routine(
    session: Session, routine_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[RoutineTrigger]]:
    grouped: dict[uuid.UUID, list[RoutineTrigger]] = {}
    if not routine_ids:
        return grouped
    rows = session.scalars(
        select(RoutineTrigger)
        .where(RoutineTrigger.routine_id.in_(routine_ids))
        .order_by(RoutineTrigger.created_at, RoutineTrigger.id)
    )
    for trigger in rows:
        grouped.setdefault(trigger.routine_id, []).append(trigger)
    return grouped
