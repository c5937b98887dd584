"""Agents and their API keys."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from shared.contract.bodies import AgentCreate, AgentKeyCreate, AgentPatch
from shared.contract.parsing import parse_body
from shared.models import Agent
from shared.tenancy.agents import (
    AGENT_NOT_FOUND,
    create_agent,
    create_key,
    list_agents,
    revoke_key,
    update_agent,
)
from shared.tenancy.lookup import company_from_path, load_visible
from web import presenters as p
from web.body import json_object
from web.context import now, work
from web.paging import page_request, paged

bp = Blueprint("agents", __name__, url_prefix="/api")


@bp.post("/companies/<company_id>/agents")
def create(company_id: str) -> Any:
    with work() as w:
        body = parse_body(AgentCreate, json_object())
        company = company_from_path(w.session, w.principal, company_id)
        return p.agent(
            create_agent(w.session, w.principal, company=company, command=body, now=now())
        ), 201


@bp.get("/companies/<company_id>/agents")
def index(company_id: str) -> Any:
    with work() as w:
        company = company_from_path(w.session, w.principal, company_id)
        return paged(list_agents(w.session, company, page_request()), p.agent)


@bp.get("/agents/<agent_id>")
def show(agent_id: str) -> Any:
    with work() as w:
        return p.agent(load_visible(w.session, w.principal, Agent, agent_id, AGENT_NOT_FOUND))


@bp.patch("/agents/<agent_id>")
def update(agent_id: str) -> Any:
    with work() as w:
        body = parse_body(AgentPatch, json_object())
        agent = update_agent(w.session, w.principal, agent_id=agent_id, command=body, now=now())
        return p.agent(agent)


@bp.post("/agents/<agent_id>/keys")
def create_agent_key(agent_id: str) -> Any:
    with work() as w:
        body = parse_body(AgentKeyCreate, json_object())
        key, token = create_key(
            w.session, w.principal, agent_id=agent_id, name=body.name, now=now()
        )
        return p.agent_key(key, token), 201


@bp.delete("/agents/<agent_id>/keys/<key_id>")
def revoke_agent_key(agent_id: str, key_id: str) -> Any:
    with work() as w:
        revoke_key(w.session, w.principal, agent_id=agent_id, key_id=key_id, now=now())
        return "", 204
