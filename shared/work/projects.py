"""Projects (with pause/resume, which suppresses routine work) and goals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.activity.record import record_change, tracked
from shared.contract.bodies import GoalCreate, ProjectCreate, ProjectPatch
from shared.contract.paging import Page, PageRequest, asc, order
from shared.models import Company, Goal, Project
from shared.tenancy.access import require_board
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

PROJECT_NOT_FOUND = "Project not found"
PROJECT_ORDER = order(asc(Project.created_at), asc(Project.id))
GOAL_ORDER = order(asc(Goal.created_at), asc(Goal.id))


def create_project(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    command: ProjectCreate,
    now: datetime,
) -> Project:
    require_board(principal, "manage projects")
    project = Project(
        company_id=company.id,
        name=command.name,
        description=command.description,
        status=command.status,
        created_at=now,
        updated_at=now,
    )
    session.add(project)
    session.flush()
    record_change(session, actor=principal, verb="created", row=project, before=None, now=now)
    return project


def list_projects(session: Session, company: Company, page: PageRequest) -> Page[Project]:
    query = select(Project).where(Project.company_id == company.id)
    return PROJECT_ORDER.fetch(session, query, page)


def update_project(
    session: Session,
    principal: Principal,
    *,
    project_id: str,
    command: ProjectPatch,
    now: datetime,
) -> Project:
    """Only what the body names changes; a null `description` clears it."""
    project = load_visible(session, principal, Project, project_id, PROJECT_NOT_FOUND)
    require_board(principal, "manage projects")
    before = tracked(project)
    if command.name is not None:
        project.name = command.name
    if "description" in command.model_fields_set:
        project.description = command.description
    if command.status is not None:
        project.status = command.status
    project.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="updated", row=project, before=before, now=now)
    return project


def pause_project(
    session: Session,
    principal: Principal,
    *,
    project_id: str,
    reason: str | None,
    now: datetime,
) -> Project:
    """Paused projects get no routine work: ticks are recorded as skipped, not backfilled."""
    project = load_visible(session, principal, Project, project_id, PROJECT_NOT_FOUND)
    require_board(principal, "pause projects")
    before = tracked(project)
    if project.paused_at is None:
        project.paused_at = now
    project.pause_reason = reason
    project.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="paused", row=project, before=before, now=now)
    return project


def resume_project(
    session: Session, principal: Principal, *, project_id: str, now: datetime
) -> Project:
    project = load_visible(session, principal, Project, project_id, PROJECT_NOT_FOUND)
    require_board(principal, "resume projects")
    before = tracked(project)
    project.paused_at = None
    project.pause_reason = None
    project.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="resumed", row=project, before=before, now=now)
    return project


def create_goal(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    command: GoalCreate,
    now: datetime,
) -> Goal:
    require_board(principal, "manage goals")
    goal = Goal(
        company_id=company.id,
        title=command.title,
        description=command.description,
        created_at=now,
        updated_at=now,
    )
    session.add(goal)
    session.flush()
    return goal


def list_goals(session: Session, company: Company, page: PageRequest) -> Page[Goal]:
    return GOAL_ORDER.fetch(session, select(Goal).where(Goal.company_id == company.id), page)
