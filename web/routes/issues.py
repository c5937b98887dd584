"""Issues; moving an execution issue drives its routine run."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import IssueCreate, IssuePatch
from shared.contract.parsing import parse_body
from shared.models import Issue
from shared.tenancy.lookup import company_from_path, load_visible
from shared.work.issues import (
    ISSUE_NOT_FOUND,
    IssueFilter,
    create_issue,
    list_issues,
    update_issue,
)
from web import presenters as p
from web.body import json_object
from web.context import now, work
from web.paging import page_request, paged

bp = Blueprint("issues", __name__, url_prefix="/api")


@bp.get("/companies/<company_id>/issues")
def index(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        args = request.args
        filters = IssueFilter(
            status=args.get("status") or None,
            origin_kind=args.get("originKind") or None,
            origin_id=args.get("originId") or None,
            assignee_agent_id=args.get("assigneeAgentId") or None,
        )
        return paged(list_issues(w.session, company, filters, page_request()), p.issue)


@bp.post("/companies/<company_id>/issues")
def create(company_id: str) -> Any:
    with work() as w:
        body = parse_body(IssueCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        issue = create_issue(w.session, w.principal, company=company, command=body, now=now())
        return p.issue(issue), 201


@bp.get("/issues/<issue_id>")
def show(issue_id: str) -> Any:
    with work() as w:
        return p.issue(load_visible(w.session, w.principal, Issue, issue_id, ISSUE_NOT_FOUND))


@bp.patch("/issues/<issue_id>")
def update(issue_id: str) -> Any:
    with work() as w:
        body = parse_body(IssuePatch, json_object())
        return p.issue(
            update_issue(w.session, w.principal, issue_id=issue_id, command=body, now=now())
        )
