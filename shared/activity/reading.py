"""Reading a company's activity log: newest first, in keyset pages that start after
the entry named by `before`."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shared.contract.errors import Invalid
from shared.contract.paging import Page, desc, order
from shared.contract.queries import ActivityQuery
from shared.models import ActivityEntry, Company

#: Entries written in one instant list in the order they were written (see sortable_id).
NEWEST_FIRST = order(desc(ActivityEntry.created_at), desc(ActivityEntry.id))
UNKNOWN_BEFORE = "before must be the id of an activity entry of this company"


def list_activity(session: Session, company: Company, query: ActivityQuery) -> Page[ActivityEntry]:
    """One page; its `next_cursor` is the id to pass as `before` for the next one."""
    statement = _filtered(company, query)
    if query.before is not None:
        start = session.scalar(
            select(ActivityEntry).where(
                ActivityEntry.company_id == company.id, ActivityEntry.id == query.before
            )
        )
        if start is None:
            raise Invalid(UNKNOWN_BEFORE)
        statement = statement.where(NEWEST_FIRST.after([start.created_at, start.id]))
    rows = list(
        session.scalars(
            statement.order_by(ActivityEntry.created_at.desc(), ActivityEntry.id.desc()).limit(
                query.limit + 1
            )
        )
    )
    if len(rows) <= query.limit:
        return Page(rows)
    return Page(rows[: query.limit], str(rows[query.limit - 1].id))


def _filtered(company: Company, query: ActivityQuery) -> Select[ActivityEntry]:
    statement = select(ActivityEntry).where(ActivityEntry.company_id == company.id)
    if query.entity_type is not None:
        statement = statement.where(ActivityEntry.entity_type == query.entity_type)
    if query.entity_id is not None:
        statement = statement.where(ActivityEntry.entity_id == query.entity_id)
    return statement
