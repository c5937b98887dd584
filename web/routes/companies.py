"""Companies, board users and memberships."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.contract.schemas import BOARD_USER_CREATE, COMPANY_CREATE, MEMBER_CREATE
from shared.contract.validation import validate
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
        fields = validate(COMPANY_CREATE, json_object())
        company = create_company(
            w.session,
            w.principal,
            name=fields["name"],
            issue_prefix=fields.get("issuePrefix"),
            now=now(),
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
        fields = validate(BOARD_USER_CREATE, json_object())
        user, token = create_board_user(w.session, w.principal, name=fields["name"], now=now())
        return {"user": p.board_user(user), "token": token}, 201


@bp.post("/companies/<company_id>/members")
def add_membership(company_id: str) -> Any:
    with work() as w:
        fields = validate(MEMBER_CREATE, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        membership = add_member(
            w.session,
            w.principal,
            company=company,
            user_id=fields["userId"],
            permissions=fields["permissions"],
            now=now(),
        )
        return p.membership(membership), 201


@bp.get("/companies/<company_id>/members")
def members(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        return paged(list_members(w.session, company, page_request()), p.membership)
