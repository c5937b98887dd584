"""Routines: create and update (lifecycle and assignment rules, references, variables)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.activity.record import record_change, tracked
from shared.contract.bodies import RoutineCreate, RoutinePatch
from shared.contract.errors import Conflict, Unprocessable
from shared.models import Company, Routine, RoutineTrigger
from shared.routines.variables import (
    Definition,
    normalize_definitions,
    required_without_default,
)
from shared.schedules.cron_walk import next_fire_after
from shared.tenancy.access import may_create_routine, may_update_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible
from shared.tenancy.references import (
    check_assignee,
    check_goal,
    check_parent_issue,
    check_project,
)

ROUTINE_NOT_FOUND = "Routine not found"


def create_routine(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    command: RoutineCreate,
    now: datetime,
) -> Routine:
    may_create_routine(principal, company.id, command.assignee_agent_id)
    variables = normalize_definitions(
        command.variables, title=command.title, description=command.description
    )
    _check_references(
        session,
        company.id,
        project_id=command.project_id,
        goal_id=command.goal_id,
        parent_issue_id=command.parent_issue_id,
        assignee_agent_id=command.assignee_agent_id,
    )
    routine = Routine(
        company_id=company.id,
        created_at=now,
        updated_at=now,
        created_by_agent_id=principal.agent_id,
        created_by_user_id=principal.user_id,
        title=command.title,
        description=command.description,
        assignee_agent_id=command.assignee_agent_id,
        project_id=command.project_id,
        goal_id=command.goal_id,
        parent_issue_id=command.parent_issue_id,
        priority=command.priority,
        status=command.status,
        concurrency_policy=command.concurrency_policy,
        catch_up_policy=command.catch_up_policy,
        variables=variables,
    )
    if routine.status == "active" and routine.assignee_agent_id is None:
        routine.status = "paused"
    session.add(routine)
    session.flush()
    record_change(session, actor=principal, verb="created", row=routine, before=None, now=now)
    return routine


def update_routine(
    session: Session,
    principal: Principal,
    *,
    routine_id: str,
    command: RoutinePatch,
    now: datetime,
) -> Routine:
    routine = load_visible(
        session, principal, Routine, routine_id, ROUTINE_NOT_FOUND, for_update=True
    )
    given = command.model_fields_set
    was_active = routine.status == "active"
    new_assignee = (
        command.assignee_agent_id if "assignee_agent_id" in given else routine.assignee_agent_id
    )
    may_update_routine(
        principal,
        routine,
        new_assignee=new_assignee,
        reassigns=new_assignee != routine.assignee_agent_id,
        activates=command.status == "active" and routine.status != "active",
    )
    before = tracked(routine)
    if routine.status == "archived" and command.status not in (None, "archived"):
        raise Conflict("Archived routines cannot be reactivated")
    # Only references that change are re-checked, so an existing one stays valid.
    _check_references(
        session,
        routine.company_id,
        project_id=_changing(command.project_id, routine.project_id),
        goal_id=_changing(command.goal_id, routine.goal_id),
        parent_issue_id=_changing(command.parent_issue_id, routine.parent_issue_id),
        assignee_agent_id=_changing(command.assignee_agent_id, routine.assignee_agent_id),
    )
    variables = None
    if given & {"variables", "title", "description"}:
        variables = normalize_definitions(
            routine.variables or [] if command.variables is None else command.variables,
            title=routine.title if command.title is None else command.title,
            description=command.description if "description" in given else routine.description,
            stored=routine.variables or [],
        )
        require_schedule_defaults(session, routine.id, variables)
    _apply(routine, command, variables)
    if routine.status == "active" and routine.assignee_agent_id is None:
        if command.status == "active":
            raise Unprocessable("Default agent required")
        routine.status = "paused"
    if was_active is False and routine.status == "active":
        restart_schedules(session, routine.id, now=now)
    routine.updated_by_agent_id = principal.agent_id
    routine.updated_by_user_id = principal.user_id
    routine.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="updated", row=routine, before=before, now=now)
    return routine


def _check_references(
    session: Session,
    company_id: uuid.UUID,
    *,
    project_id: uuid.UUID | None,
    goal_id: uuid.UUID | None,
    parent_issue_id: uuid.UUID | None,
    assignee_agent_id: uuid.UUID | None,
) -> None:
    check_project(session, company_id, project_id)
    check_goal(session, company_id, goal_id)
    check_parent_issue(session, company_id, parent_issue_id)
    check_assignee(session, company_id, assignee_agent_id)


def _changing(value: uuid.UUID | None, stored: uuid.UUID | None) -> uuid.UUID | None:
    """A reference to check: the new one if it differs from the stored one (None is no
    reference to check, whether the PATCH left the key out or cleared it)."""
    return value if value != stored else None


def _apply(routine: Routine, command: RoutinePatch, variables: list[Definition] | None) -> None:
    """What the body names changes; a null description or reference clears it."""
    given = command.model_fields_set
    if command.title is not None:
        routine.title = command.title
    if "description" in given:
        routine.description = command.description
    if "assignee_agent_id" in given:
        routine.assignee_agent_id = command.assignee_agent_id
    if "project_id" in given:
        routine.project_id = command.project_id
    if "goal_id" in given:
        routine.goal_id = command.goal_id
    if "parent_issue_id" in given:
        routine.parent_issue_id = command.parent_issue_id
    if command.priority is not None:
        routine.priority = command.priority
    if command.status is not None:
        routine.status = command.status
    if command.concurrency_policy is not None:
        routine.concurrency_policy = command.concurrency_policy
    if command.catch_up_policy is not None:
        routine.catch_up_policy = command.catch_up_policy
    if variables is not None:
        routine.variables = variables


def require_schedule_defaults(
    session: Session, routine_id: uuid.UUID, definitions: list[Definition]
) -> None:
    """A schedule has nobody to supply values, so required ones need defaults."""
    has_schedule = session.scalar(
        select(RoutineTrigger.id)
        .where(
            RoutineTrigger.routine_id == routine_id,
            RoutineTrigger.kind == "schedule",
            RoutineTrigger.enabled.is_(True),
        )
        .limit(1)
    )
    if has_schedule is not None:
        check_schedulable(definitions)


def check_schedulable(definitions: list[Definition]) -> None:
    missing = required_without_default(definitions)
    if missing:
        raise Unprocessable(
            f"Scheduled routines require defaults for required variables: {', '.join(missing)}"
        )


def restart_schedules(session: Session, routine_id: uuid.UUID, *, now: datetime) -> None:
    """A resumed routine picks up at its next tick after now: the pause is not backfilled."""
    triggers = session.scalars(
        select(RoutineTrigger).where(
            RoutineTrigger.routine_id == routine_id,
            RoutineTrigger.kind == "schedule",
            RoutineTrigger.enabled.is_(True),
        )
    )
    for trigger in triggers:
        if trigger.cron_expression:
            trigger.next_run_at = next_fire_after(
                trigger.cron_expression, trigger.timezone or "UTC", now
            )
