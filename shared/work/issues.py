"""Issues: where routine work lands; an execution issue's status drives its run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from shared.contract.bodies import IssueCreate, IssuePatch
from shared.contract.ids import maybe_uuid
from shared.contract.jsontext import storable_text
from shared.contract.paging import Page, PageRequest, desc, order
from shared.contract.vocabulary import ISSUE_STATUSES, ROUTINE_EXECUTION
from shared.models import Company, Issue, RoutineRun
from shared.platform.locks import NO_KEY_UPDATE, lock_routine
from shared.tenancy.access import ASSIGN, require_permission
from shared.tenancy.auth import Principal
from shared.tenancy.companies import next_issue_number
from shared.tenancy.lookup import load_visible
from shared.tenancy.references import (
    check_assignee,
    check_goal,
    check_parent_issue,
    check_project,
)

ISSUE_NOT_FOUND = "Issue not found"
#: Newest first; `number` is unique per company, `id` ends every order all the same.
ISSUE_ORDER = order(desc(Issue.created_at), desc(Issue.number), desc(Issue.id))


@dataclass(frozen=True)
class IssueFilter:
    """The list's query parameters as sent; a value that cannot match matches nothing."""

    status: str | None = None
    origin_kind: str | None = None
    origin_id: str | None = None
    assignee_agent_id: str | None = None


def create_issue(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    command: IssueCreate,
    now: datetime,
) -> Issue:
    if command.assignee_agent_id:
        require_permission(principal, company.id, ASSIGN)
    check_project(session, company.id, command.project_id)
    check_goal(session, company.id, command.goal_id)
    check_parent_issue(session, company.id, command.parent_id)
    check_assignee(session, company.id, command.assignee_agent_id)
    return new_issue(
        session,
        company_id=company.id,
        now=now,
        title=command.title,
        description=command.description,
        status=command.status,
        priority=command.priority,
        assignee_agent_id=command.assignee_agent_id,
        project_id=command.project_id,
        goal_id=command.goal_id,
        parent_id=command.parent_id,
        created_by_agent_id=principal.agent_id,
        created_by_user_id=principal.user_id,
    )


def new_issue(session: Session, *, company_id: uuid.UUID, now: datetime, **columns: Any) -> Issue:
    """Insert an issue with the next identifier of its company."""
    number, identifier = next_issue_number(session, company_id)
    issue = Issue(
        company_id=company_id,
        number=number,
        identifier=identifier,
        created_at=now,
        updated_at=now,
        **columns,
    )
    _stamp_status(issue, now)
    session.add(issue)
    session.flush()
    return issue


def list_issues(
    session: Session, company: Company, filters: IssueFilter, page: PageRequest
) -> Page[Issue]:
    query = select(Issue).where(Issue.company_id == company.id, *_matching(filters))
    return ISSUE_ORDER.fetch(session, query, page)


def _matching(filters: IssueFilter) -> list[ColumnElement[bool]]:
    """Only values a row could hold reach the database: the rest become `false`."""
    conditions: list[ColumnElement[bool]] = []
    if filters.status:
        statuses = [s for s in filters.status.split(",") if s in ISSUE_STATUSES]
        conditions.append(Issue.status.in_(statuses) if statuses else false())
    if filters.origin_kind:
        kind = filters.origin_kind
        conditions.append(Issue.origin_kind == kind if storable_text(kind) else false())
    for column, raw in (
        (Issue.origin_id, filters.origin_id),
        (Issue.assignee_agent_id, filters.assignee_agent_id),
    ):
        if raw:
            wanted = maybe_uuid(raw)
            conditions.append(column == wanted if wanted is not None else false())
    return conditions


def update_issue(
    session: Session,
    principal: Principal,
    *,
    issue_id: str,
    command: IssuePatch,
    now: datetime,
) -> Issue:
    issue = load_visible(session, principal, Issue, issue_id, ISSUE_NOT_FOUND)
    reassigns = "assignee_agent_id" in command.model_fields_set
    if reassigns and command.assignee_agent_id != issue.assignee_agent_id:
        require_permission(principal, issue.company_id, ASSIGN)
        check_assignee(session, issue.company_id, command.assignee_agent_id)
    if issue.origin_kind == ROUTINE_EXECUTION and issue.origin_id is not None:
        # The lock order of shared.platform.locks (routine, then issue), as dispatch takes it, so
        # a fire racing this status change sees the issue either live or finished.
        lock_routine(session, issue.origin_id)
    session.refresh(issue, with_for_update=NO_KEY_UPDATE)
    previous_status = issue.status
    _apply(issue, command)
    issue.updated_at = now
    if issue.status != previous_status:
        _stamp_status(issue, now)
        follow_issue_status(session, issue, now=now)
    session.flush()
    return issue


def follow_issue_status(session: Session, issue: Issue, *, now: datetime) -> None:
    """The run that created an execution issue reflects where that issue went."""
    if issue.origin_kind != ROUTINE_EXECUTION or issue.origin_run_id is None:
        return
    # Under the routine's lock (taken by the caller): a run changes only under it.
    run = session.get(RoutineRun, issue.origin_run_id, populate_existing=True)
    if run is None or run.linked_issue_id != issue.id:
        return
    if issue.status == "done":
        run.status, run.completed_at, run.failure_reason = "completed", now, None
    elif issue.status in ("cancelled", "blocked"):
        run.status, run.completed_at = "failed", now
        run.failure_reason = f"Execution issue moved to {issue.status}"
    elif run.status in ("completed", "failed"):
        run.status, run.completed_at, run.failure_reason = "issue_created", None, None
    run.updated_at = now


def _stamp_status(issue: Issue, now: datetime) -> None:
    issue.completed_at, issue.cancelled_at = status_stamps(issue.status, now)


def status_stamps(status: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """`completed_at` and `cancelled_at` of an issue that is now in `status`."""
    return (now if status == "done" else None, now if status == "cancelled" else None)


def _apply(issue: Issue, command: IssuePatch) -> None:
    """What the body names changes; a null description or assignee clears it."""
    given = command.model_fields_set
    if command.title is not None:
        issue.title = command.title
    if "description" in given:
        issue.description = command.description
    if command.status is not None:
        issue.status = command.status
    if command.priority is not None:
        issue.priority = command.priority
    if "assignee_agent_id" in given:
        issue.assignee_agent_id = command.assignee_agent_id
