"""Loading one row by id, with tenancy applied, the same way everywhere."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from shared.contract.errors import NotFound
from shared.contract.ids import parse_id
from shared.models import Company
from shared.platform.locks import NO_KEY_UPDATE
from shared.tenancy.access import require_company_path, require_visible
from shared.tenancy.auth import Principal


class CompanyOwned(Protocol):
    company_id: Any


T = TypeVar("T", bound=CompanyOwned)


def load_visible(
    session: Session,
    principal: Principal,
    model: type[T],
    raw_id: str | uuid.UUID,
    not_found: str,
    *,
    for_update: bool = False,
) -> T:
    """The row if it exists and the caller's company sees it; 404 otherwise, alike.
    `for_update` locks it FOR NO KEY UPDATE (see shared.platform.locks for the order)."""
    lock = NO_KEY_UPDATE if for_update else None
    row = session.get(model, parse_id(raw_id, not_found), with_for_update=lock)
    if row is None:
        raise NotFound(not_found)
    require_visible(principal, row.company_id, not_found)
    return row


def company_from_path(session: Session, principal: Principal, raw_id: str) -> Company:
    company_id = parse_id(raw_id, "Company not found")
    require_company_path(principal, company_id)
    company = session.get(Company, company_id)
    if company is None:
        raise NotFound("Company not found")
    return company
