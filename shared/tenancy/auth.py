"""Who is calling: a bearer token resolved to an admin, a board user or an agent."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contract.errors import Unauthorized
from shared.models import Agent, AgentKey, BoardUser, CompanyMembership
from shared.tenancy.tokens import AGENT_KEY_PREFIX, BOARD_TOKEN_PREFIX, hash_token, same_secret

PrincipalKind = Literal["admin", "board", "agent"]


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    agent_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    #: The agent's own company; board users have `memberships` instead.
    company_id: uuid.UUID | None = None
    memberships: Mapping[uuid.UUID, frozenset[str]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"


ADMIN = Principal(kind="admin")


def authenticate(session: Session, *, token: str | None, admin_token: str | None) -> Principal:
    """Resolve a bearer token; unknown, revoked or missing tokens are all simply 401."""
    if not token:
        raise Unauthorized("Unauthorized")
    if admin_token and same_secret(hash_token(token), hash_token(admin_token)):
        return ADMIN
    if token.startswith(AGENT_KEY_PREFIX):
        return _agent_principal(session, hash_token(token))
    if token.startswith(BOARD_TOKEN_PREFIX):
        return _board_principal(session, hash_token(token))
    raise Unauthorized("Unauthorized")


def _agent_principal(session: Session, token_hash: str) -> Principal:
    row = session.execute(
        select(AgentKey.agent_id, Agent.company_id, Agent.status)
        .join(Agent, Agent.id == AgentKey.agent_id)
        .where(AgentKey.token_hash == token_hash, AgentKey.revoked_at.is_(None))
    ).first()
    if row is None or row.status == "terminated":
        raise Unauthorized("Unauthorized")
    return Principal(kind="agent", agent_id=row.agent_id, company_id=row.company_id)


def _board_principal(session: Session, token_hash: str) -> Principal:
    user_id = session.scalar(select(BoardUser.id).where(BoardUser.token_hash == token_hash))
    if user_id is None:
        raise Unauthorized("Unauthorized")
    rows = session.execute(
        select(CompanyMembership.company_id, CompanyMembership.permissions).where(
            CompanyMembership.user_id == user_id
        )
    )
    memberships = {row.company_id: frozenset(row.permissions or ()) for row in rows}
    return Principal(kind="board", user_id=user_id, memberships=memberships)
