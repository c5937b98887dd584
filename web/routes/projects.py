"""Projects (with pause/resume) and goals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.contract.bodies import GoalCreate, ProjectCreate, ProjectPatch, ProjectPause
from shared.contract.parsing import parse_body
from shared.models import Goal, Project
from shared.tenancy.lookup import company_from_path, load_visible
from shared.work.projects import (
    PROJECT_NOT_FOUND,
    create_goal,
    create_project,
    list_goals,
    list_projects,
    pause_project,
    resume_project,
    update_project,
)
from web import presenters as p
from web.body import json_object
from web.context import now, work
from web.paging import page_request, paged

bp = Blueprint("projects", __name__, url_prefix="/api")


@bp.post("/companies/<company_id>/projects")
def create(company_id: str) -> Any:
    with work() as w:
        body = parse_body(ProjectCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        return p.project(
            create_project(w.session, w.principal, company=company, command=body, now=now())
        ), 201


@bp.get("/companies/<company_id>/projects")
def index(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        return paged(list_projects(w.session, company, page_request()), p.project)


@bp.get("/projects/<project_id>")
def show(project_id: str) -> Any:
    with work() as w:
        return p.project(
            load_visible(w.session, w.principal, Project, project_id, PROJECT_NOT_FOUND)
        )


@bp.patch("/projects/<project_id>")
def update(project_id: str) -> Any:
    with work() as w:
        body = parse_body(ProjectPatch, json_object())
        return p.project(
            update_project(w.session, w.principal, project_id=project_id, command=body, now=now())
        )


@bp.post("/projects/<project_id>/pause")
def pause(project_id: str) -> Any:
    with work() as w:
        body = parse_body(ProjectPause, json_object())
        return p.project(
            pause_project(
                w.session, w.principal, project_id=project_id, reason=body.reason, now=now()
            )
        )


@bp.post("/projects/<project_id>/resume")
def resume(project_id: str) -> Any:
    with work() as w:
        return p.project(resume_project(w.session, w.principal, project_id=project_id, now=now()))


@bp.post("/companies/<company_id>/goals")
def create_company_goal(company_id: str) -> Any:
    with work() as w:
        body = parse_body(GoalCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        return p.goal(
            create_goal(w.session, w.principal, company=company, command=body, now=now())
        ), 201


@bp.get("/companies/<company_id>/goals")
def goals(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        return paged(list_goals(w.session, company, page_request()), p.goal)


@bp.get("/goals/<goal_id>")
def show_goal(goal_id: str) -> Any:
    with work() as w:
        return p.goal(load_visible(w.session, w.principal, Goal, goal_id, "Goal not found"))
