"""A company's activity log: read-only, newest first; no route changes an entry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.activity.reading import list_activity
from shared.contract.parsing import parse_body
from shared.contract.queries import ActivityQuery
from shared.tenancy.lookup import company_from_path
from web import presenters as p
from web.context import work
from web.paging import paged

bp = Blueprint("activity", __name__, url_prefix="/api")


@bp.get("/companies/<company_id>/activity")
def index(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        # An empty parameter is no parameter, as with the other lists' filters.
        query = parse_body(ActivityQuery, {k: v for k, v in request.args.items() if v})
        page = list_activity(w.session, company, query)
        return paged(page, p.activity_entry, position="before")
