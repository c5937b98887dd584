"""Companies, board users and memberships."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.contract.bodies import BoardUserCreate, CompanyCreate, MemberCreate
from shared.contract.parsing import parse_body
from shared.tenancy.companies import create_company, list_companies
from shared.tenancy.lookup import company_from_path
from shared.tenancy.people import add_member, create_board_user, list_members
from web import presenters as p
from web.body import json_object
from web.context import now, work
from web.paging import page_request, paged

bp = Blueprint("companies", __name__, url_prefix="/api")


@bp.post("/companies")
def create() -> Any:
    with work() as w:
        body = parse_body(CompanyCreate, json_object())
        company = create_company(
            w.session, w.principal, name=body.name, issue_prefix=body.issue_prefix, now=now()
        )
        return p.company(company), 201


@bp.get("/companies")
def index() -> Any:
    with work() as w:
        return paged(list_companies(w.session, w.principal, page_request()), p.company)


@bp.get("/companies/<company_id>")
def show(company_id: str) -> Any:
    with work() as w:
        return p.company(company_from_path(w.session, w.principal, company_id))


@bp.post("/board-users")
def create_user() -> Any:
    with work() as w:
        body = parse_body(BoardUserCreate, json_object())
        user, token = create_board_user(w.session, w.principal, name=body.name, now=now())
        return {"user": p.board_user(user), "token": token}, 201


@bp.post("/companies/<company_id>/members")
def add_membership(company_id: str) -> Any:
    with work() as w:
        body = parse_body(MemberCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        membership = add_member(
            w.session,
            w.principal,
            company=company,
            user_id=body.user_id,
            permissions=body.permissions,
            now=now(),
        )
        return p.membership(membership), 201


@bp.get("/companies/<company_id>/members")
def members(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        return paged(list_members(w.session, company, page_request()), p.membership)
