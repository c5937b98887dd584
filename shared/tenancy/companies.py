"""Companies: the tenant boundary, and the per-company issue number sequence."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import cast

from sqlalchemy import Table, case, select, text, update
from sqlalchemy.orm import Session

from shared.contract.errors import Invalid
from shared.contract.paging import Page, PageRequest, asc, order
from shared.models import Company
from shared.platform.locks import lock_companies
from shared.platform.members import uuid_array
from shared.platform.prepared import Prepared
from shared.tenancy.access import require_admin, visible_company_ids
from shared.tenancy.auth import Principal

#: Oldest first, as before pages existed.
COMPANY_ORDER = order(asc(Company.created_at), asc(Company.id))


def create_company(
    session: Session, principal: Principal, *, name: str, issue_prefix: str | None, now: datetime
) -> Company:
    require_admin(principal)
    prefix = _clean(issue_prefix)[:10] if issue_prefix is not None else _clean(name)[:4] or "ISS"
    if not prefix:
        problem = {"path": ["issuePrefix"], "message": "Must contain letters or digits"}
        raise Invalid("Validation error", details=[problem])
    company = Company(
        name=name,
        issue_prefix=prefix,
        issue_counter=0,
        created_at=now,
        updated_at=now,
    )
    session.add(company)
    session.flush()
    return company


def list_companies(session: Session, principal: Principal, page: PageRequest) -> Page[Company]:
    query = select(Company)
    visible = visible_company_ids(principal)
    if visible is not None:
        query = query.where(Company.id.in_(visible))
    return COMPANY_ORDER.fetch(session, query, page)


def next_issue_number(session: Session, company_id: uuid.UUID) -> tuple[int, str]:
    """Bump the counter in the database (a row lock until commit), never in Python."""
    row = session.execute(
        update(Company)
        .where(Company.id == company_id)
        .values(issue_counter=Company.issue_counter + 1)
        .returning(Company.issue_counter, Company.issue_prefix)
    ).one()
    return row.issue_counter, f"{row.issue_prefix}-{row.issue_counter}"


#: On PostgreSQL, the counters bumped by one prepared statement whatever the number of
#: companies, their counts one JSON parameter (CASE over the ids made a new statement,
#: compiled and planned, for each number of companies).
_BUMP = Prepared(
    "routines_bump_issue_counters",
    text(
        "UPDATE companies AS c SET issue_counter = c.issue_counter + v.n"
        " FROM jsonb_to_recordset(CAST(:counts AS JSONB)) AS v(id uuid, n integer)"
        # The ids again as an array, so that the companies are found by key: the
        # recordset alone is taken for 100 rows, and met every company in a hash.
        " WHERE c.id = v.id AND c.id = ANY(CAST(:ids AS uuid[]))"
        " RETURNING c.id, c.issue_counter, c.issue_prefix"
    ).columns(Company.id, Company.issue_counter, Company.issue_prefix),
)


def _counts_json(counts: Mapping[uuid.UUID, int]) -> str:
    return json.dumps([{"id": str(company), "n": n} for company, n in counts.items()])


def allocate_issue_numbers(
    session: Session, counts: Mapping[uuid.UUID, int]
) -> dict[uuid.UUID, tuple[int, str]]:
    """`counts[c]` consecutive numbers for each company `c` in one UPDATE (step 4 of
    shared.platform.locks): the first of them and the company's prefix. Several companies are
    locked in ascending id order first, so two batches never wait on each other crosswise."""
    if not counts:
        return {}
    if len(counts) > 1:
        lock_companies(session, sorted(counts))
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {"counts": _counts_json(counts), "ids": uuid_array(counts)}
        rows = _BUMP.execute(connection, params).all()
    else:
        table = cast(Table, Company.__table__)
        companies = table.c
        bump = case(dict(counts), value=companies.id)
        # Core on the session's connection: no ORM objects to synchronize.
        rows = connection.execute(
            update(table)
            .where(companies.id.in_(list(counts)))
            .values(issue_counter=companies.issue_counter + bump)
            .returning(companies.id, companies.issue_counter, companies.issue_prefix)
        ).all()
    return {row.id: (row.issue_counter - counts[row.id] + 1, row.issue_prefix) for row in rows}


def _clean(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", source).upper()
