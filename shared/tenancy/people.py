"""Board users and their company memberships (admin-managed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contract.errors import Conflict, NotFound
from shared.contract.paging import Page, PageRequest, asc, order
from shared.contract.vocabulary import Permission
from shared.models import BoardUser, Company, CompanyMembership
from shared.tenancy.access import require_admin
from shared.tenancy.auth import Principal
from shared.tenancy.tokens import BOARD_TOKEN_PREFIX, hash_token, new_token

MEMBER_ORDER = order(asc(CompanyMembership.created_at), asc(CompanyMembership.id))


def create_board_user(
    session: Session, principal: Principal, *, name: str, now: datetime
) -> tuple[BoardUser, str]:
    """The user and its token; the token is never shown again."""
    require_admin(principal)
    token = new_token(BOARD_TOKEN_PREFIX)
    user = BoardUser(name=name, token_hash=hash_token(token), created_at=now)
    session.add(user)
    session.flush()
    return user, token


def add_member(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    user_id: uuid.UUID,
    permissions: Sequence[Permission],
    now: datetime,
) -> CompanyMembership:
    require_admin(principal)
    if session.get(BoardUser, user_id) is None:
        raise NotFound("Board user not found")
    existing = session.scalar(
        select(CompanyMembership).where(
            CompanyMembership.company_id == company.id, CompanyMembership.user_id == user_id
        )
    )
    if existing is not None:
        raise Conflict("User is already a member of this company")
    membership = CompanyMembership(
        company_id=company.id,
        user_id=user_id,
        permissions=sorted(set(permissions)),
        created_at=now,
    )
    session.add(membership)
    session.flush()
    return membership


def list_members(session: Session, company: Company, page: PageRequest) -> Page[CompanyMembership]:
    query = select(CompanyMembership).where(CompanyMembership.company_id == company.id)
    return MEMBER_ORDER.fetch(session, query, page)
