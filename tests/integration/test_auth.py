"""Bearer tokens (API.md section 1): who may call, and how tokens are kept."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from devstack.api import (
    ADMIN_TOKEN,
    Api,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
)
from shared.models import Base
from shared.platform.runtime import Runtime
from shared.tenancy.tokens import hash_token

UNAUTHORIZED = {"error": "Unauthorized"}


def every_stored_value(runtime: Runtime) -> list[str]:
    """Each row of every table, as PostgreSQL's text form of the whole row."""
    rows: list[str] = []
    with runtime.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows += connection.execute(text(f'SELECT t::text FROM "{table.name}" t')).scalars()
    return rows


def test_a_request_without_a_token_is_unauthorized(api: Api) -> None:
    response = api.as_(None).get("/api/companies")
    assert (response.status, response.body) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        "rta_" + "0" * 48,
        "rtb_" + "0" * 48,
        ADMIN_TOKEN + "x",
        ADMIN_TOKEN.upper(),
    ],
)
def test_an_unknown_token_is_unauthorized(api: Api, token: str) -> None:
    response = api.as_(token).get("/api/companies")
    assert (response.status, response.body) == (401, UNAUTHORIZED)


@pytest.mark.parametrize(
    "header", [f"Basic {ADMIN_TOKEN}", ADMIN_TOKEN, "Bearer", "Bearer    ", f"Token {ADMIN_TOKEN}"]
)
def test_an_authorization_header_that_is_not_a_bearer_token_is_unauthorized(
    api: Api, header: str
) -> None:
    response = api.as_(None).get("/api/companies", Authorization=header)
    assert (response.status, response.body) == (401, UNAUTHORIZED)


def test_credentials_are_checked_on_writes_too(api: Api) -> None:
    company = make_company(api)
    anonymous = api.as_(None)
    for method, path in [
        ("POST", "/api/companies"),
        ("POST", "/api/board-users"),
        ("POST", f"/api/companies/{company['id']}/agents"),
        ("POST", f"/api/companies/{company['id']}/routines"),
    ]:
        response = anonymous.call(method, path, {"name": "x", "title": "x"})
        assert (response.status, response.body) == (401, UNAUTHORIZED), path
    assert [c["id"] for c in api.ok("GET", "/api/companies")] == [company["id"]]


def test_the_admin_token_reaches_every_company(api: Api) -> None:
    first, second = make_company(api, "First"), make_company(api, "Second")
    assert {c["id"] for c in api.ok("GET", "/api/companies")} == {first["id"], second["id"]}
    assert api.ok("GET", f"/api/companies/{second['id']}")["name"] == "Second"


def test_an_admin_creates_a_board_user_with_a_token_shown_once(api: Api) -> None:
    response = api.post("/api/board-users", {"name": "  Dana  "})
    assert response.status == 201
    assert set(response.body) == {"user", "token"}
    assert response.body["user"]["name"] == "Dana"
    assert {"id", "name", "createdAt"} <= set(response.body["user"])
    assert "token" not in response.body["user"]
    assert isinstance(response.body["token"], str)
    assert len(response.body["token"]) >= 32


def test_a_board_user_sees_a_company_only_once_joined_to_it(api: Api) -> None:
    company = make_company(api)
    created = api.ok("POST", "/api/board-users", {"name": "Dana"})
    member = api.as_(created["token"])
    assert member.ok("GET", "/api/companies") == []
    denied = member.get(f"/api/companies/{company['id']}")
    assert (denied.status, denied.error) == (403, "User does not have access to this company")

    joined = api.post(
        f"/api/companies/{company['id']}/members",
        {"userId": created["user"]["id"], "permissions": ["tasks:assign"]},
    )

    assert joined.status == 201
    assert joined.body["companyId"] == company["id"]
    assert joined.body["userId"] == created["user"]["id"]
    assert joined.body["permissions"] == ["tasks:assign"]
    assert [c["id"] for c in member.ok("GET", "/api/companies")] == [company["id"]]
    assert member.ok("GET", f"/api/companies/{company['id']}")["id"] == company["id"]


def test_an_agent_key_is_shown_once_with_its_id_name_and_creation_time(api: Api) -> None:
    agent = make_agent(api, make_company(api))
    response = api.post(f"/api/agents/{agent['id']}/keys", {"name": "ci"})
    assert response.status == 201
    assert {"id", "name", "token", "createdAt"} <= set(response.body)
    assert response.body["name"] == "ci"
    as_agent = api.as_(response.body["token"])
    assert as_agent.ok("GET", f"/api/agents/{agent['id']}")["id"] == agent["id"]


def test_tokens_are_stored_only_as_hashes(api: Api, runtime: Runtime) -> None:
    company = make_company(api)
    agent_token = make_agent_token(api, make_agent(api, company))
    member_token = make_member(api, company, ["tasks:assign"])
    with runtime.engine.connect() as connection:
        agent_hashes = list(connection.execute(text("SELECT token_hash FROM agent_keys")).scalars())
        user_hashes = list(connection.execute(text("SELECT token_hash FROM board_users")).scalars())
    assert agent_hashes == [hash_token(agent_token)]
    assert user_hashes == [hash_token(member_token)]
    assert agent_token not in agent_hashes[0]
    assert member_token not in user_hashes[0]
    for row in every_stored_value(runtime):
        assert agent_token not in row
        assert member_token not in row
        assert ADMIN_TOKEN not in row


def test_a_revoked_agent_key_is_unauthorized_at_once(api: Api) -> None:
    agent = make_agent(api, make_company(api))
    key = api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "old"})
    other_token = make_agent_token(api, agent)
    assert api.as_(key["token"]).get(f"/api/agents/{agent['id']}").status == 200

    revoked = api.delete(f"/api/agents/{agent['id']}/keys/{key['id']}")

    assert revoked.status == 204
    after = api.as_(key["token"]).get(f"/api/agents/{agent['id']}")
    assert (after.status, after.body) == (401, UNAUTHORIZED)
    assert api.as_(other_token).get(f"/api/agents/{agent['id']}").status == 200


def test_revoking_a_key_twice_is_not_found(api: Api) -> None:
    agent = make_agent(api, make_company(api))
    key = api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "old"})
    api.ok("DELETE", f"/api/agents/{agent['id']}/keys/{key['id']}")
    again = api.delete(f"/api/agents/{agent['id']}/keys/{key['id']}")
    assert (again.status, again.error) == (404, "Agent key not found")


def test_a_key_cannot_be_revoked_through_another_agent(api: Api) -> None:
    company = make_company(api)
    owner, other = make_agent(api, company), make_agent(api, company, name="Other")
    key = api.ok("POST", f"/api/agents/{owner['id']}/keys", {"name": "k"})
    response = api.delete(f"/api/agents/{other['id']}/keys/{key['id']}")
    assert (response.status, response.error) == (404, "Agent key not found")
    assert api.as_(key["token"]).get(f"/api/agents/{owner['id']}").status == 200
