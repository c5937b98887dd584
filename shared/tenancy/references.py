"""Checks on ids that a body refers to: missing is 404, another company's is 422."""

from __future__ import annotations

import uuid
from typing import TypeVar

from sqlalchemy.orm import Session

from shared.contract.errors import Conflict, NotFound, Unprocessable
from shared.models import Agent, Goal, Issue, Project

M = TypeVar("M", Project, Goal, Issue)


def check_project(
    session: Session, company_id: uuid.UUID, project_id: uuid.UUID | None
) -> Project | None:
    return _same_company(session, Project, company_id, project_id, "Project")


def check_goal(session: Session, company_id: uuid.UUID, goal_id: uuid.UUID | None) -> Goal | None:
    return _same_company(session, Goal, company_id, goal_id, "Goal")


def check_parent_issue(
    session: Session, company_id: uuid.UUID, issue_id: uuid.UUID | None
) -> Issue | None:
    return _same_company(session, Issue, company_id, issue_id, "Parent issue")


def check_assignee(
    session: Session, company_id: uuid.UUID, agent_id: uuid.UUID | None
) -> Agent | None:
    if agent_id is None:
        return None
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("Assignee agent not found")
    if agent.company_id != company_id:
        raise Unprocessable("Assignee must belong to same company")
    assignable_or_raise(agent)
    return agent


def assignable_or_raise(agent: Agent) -> None:
    if agent.status == "pending_approval":
        raise Conflict("Cannot assign routines to pending approval agents")
    if agent.status == "terminated":
        raise Conflict("Cannot assign routines to terminated agents")


def _same_company(
    session: Session, model: type[M], company_id: uuid.UUID, row_id: uuid.UUID | None, label: str
) -> M | None:
    if row_id is None:
        return None
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{label} not found")
    if row.company_id != company_id:
        raise Unprocessable(f"{label} must belong to same company")
    return row
