"""Agents and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.activity.record import record_change, tracked
from shared.contract.bodies import AgentCreate, AgentPatch
from shared.contract.errors import NotFound
from shared.contract.paging import Page, PageRequest, asc, order
from shared.models import Agent, AgentKey, Company
from shared.tenancy.access import ASSIGN, require_board, require_permission
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible
from shared.tenancy.tokens import AGENT_KEY_PREFIX, hash_token, new_token

AGENT_NOT_FOUND = "Agent not found"
AGENT_ORDER = order(asc(Agent.created_at), asc(Agent.id))


def create_agent(
    session: Session,
    principal: Principal,
    *,
    company: Company,
    command: AgentCreate,
    now: datetime,
) -> Agent:
    require_board(principal, "manage agents")
    require_permission(principal, company.id, ASSIGN)
    agent = Agent(
        company_id=company.id,
        name=command.name,
        role=command.role,
        title=command.title,
        status=command.status,
        created_at=now,
        updated_at=now,
    )
    session.add(agent)
    session.flush()
    record_change(session, actor=principal, verb="created", row=agent, before=None, now=now)
    return agent


def list_agents(session: Session, company: Company, page: PageRequest) -> Page[Agent]:
    return AGENT_ORDER.fetch(session, select(Agent).where(Agent.company_id == company.id), page)


def update_agent(
    session: Session,
    principal: Principal,
    *,
    agent_id: str,
    command: AgentPatch,
    now: datetime,
) -> Agent:
    """Only what the body names changes; `role` and `title` may be cleared with null."""
    agent = load_visible(session, principal, Agent, agent_id, AGENT_NOT_FOUND, for_update=True)
    require_board(principal, "manage agents")
    before, given = tracked(agent), command.model_fields_set
    if command.name is not None:
        agent.name = command.name
    if "role" in given:
        agent.role = command.role
    if "title" in given:
        agent.title = command.title
    if command.status is not None:
        agent.status = command.status
    agent.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="updated", row=agent, before=before, now=now)
    return agent


def create_key(
    session: Session, principal: Principal, *, agent_id: str, name: str, now: datetime
) -> tuple[AgentKey, str]:
    """The key and its token; only the hash is kept, so the token is shown once."""
    agent = load_visible(session, principal, Agent, agent_id, AGENT_NOT_FOUND)
    require_board(principal, "manage agent keys")
    # A key acts as the agent, so minting one is assigning work through it.
    require_permission(principal, agent.company_id, ASSIGN)
    token = new_token(AGENT_KEY_PREFIX)
    key = AgentKey(
        agent_id=agent.id,
        company_id=agent.company_id,
        name=name,
        token_hash=hash_token(token),
        created_at=now,
    )
    session.add(key)
    session.flush()
    record_change(session, actor=principal, verb="created", row=key, before=None, now=now)
    return key, token


def revoke_key(
    session: Session, principal: Principal, *, agent_id: str, key_id: str, now: datetime
) -> None:
    agent = load_visible(session, principal, Agent, agent_id, AGENT_NOT_FOUND)
    require_board(principal, "manage agent keys")
    key = load_visible(session, principal, AgentKey, key_id, "Agent key not found")
    if key.agent_id != agent.id or key.revoked_at is not None:
        raise NotFound("Agent key not found")
    before = tracked(key)
    key.revoked_at = now
    session.flush()
    record_change(session, actor=principal, verb="revoked", row=key, before=before, now=now)
