"""Who may do what to a routine, over HTTP (API.md section 8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from devstack.api import (
    Api,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_routine,
)
from shared.platform.runtime import Runtime

NOT_OWN = "Agents can only manage routines assigned to themselves"
SELF_ONLY = "Agents can only assign routines to themselves"
MISSING_ASSIGN = "Missing permission: tasks:assign"


@dataclass
class Office:
    """One company: two agents with keys, a routine each, and two kinds of member."""

    company: dict[str, Any]
    me: dict[str, Any]
    other: dict[str, Any]
    mine: dict[str, Any]
    theirs: dict[str, Any]
    my_token: str
    reader_token: str
    assigner_token: str


@pytest.fixture
def office(api: Api) -> Office:
    company = make_company(api)
    me, other = make_agent(api, company, name="Me"), make_agent(api, company, name="Other")
    return Office(
        company=company,
        me=me,
        other=other,
        mine=make_routine(api, company, me, title="Mine"),
        theirs=make_routine(api, company, other, title="Theirs"),
        my_token=make_agent_token(api, me),
        reader_token=make_member(api, company),
        assigner_token=make_member(api, company, ["tasks:assign"]),
    )


def routines_path(office: Office) -> str:
    return f"/api/companies/{office.company['id']}/routines"


def titles(api: Api, office: Office) -> list[str]:
    return sorted(r["title"] for r in api.ok("GET", routines_path(office)))


def run_count(runtime: Runtime, routine: dict[str, Any]) -> int:
    with runtime.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT count(*) FROM routine_runs WHERE routine_id = :id"),
                {"id": routine["id"]},
            ).scalar_one()
        )


# Agents


def test_an_agent_creates_a_routine_assigned_to_itself(api: Api, office: Office) -> None:
    agent = api.as_(office.my_token)
    response = agent.post(
        routines_path(office), {"title": "Self", "assigneeAgentId": office.me["id"]}
    )
    assert response.status == 201
    assert response.body["assigneeAgentId"] == office.me["id"]
    assert response.body["createdByAgentId"] == office.me["id"]
    assert response.body["createdByUserId"] is None
    assert response.body["status"] == "active"


@pytest.mark.parametrize("assignee", ["other", None])
def test_an_agent_cannot_create_a_routine_for_anyone_else(
    api: Api, office: Office, assignee: str | None
) -> None:
    body = {"title": "Delegated"}
    if assignee:
        body["assigneeAgentId"] = office.other["id"]
    response = api.as_(office.my_token).post(routines_path(office), body)
    assert (response.status, response.error) == (403, NOT_OWN)
    assert titles(api, office) == ["Mine", "Theirs"]


AGENT_ACTIONS_ON_A_ROUTINE = [
    ("PATCH", "", {"title": "Hijacked"}),
    ("PATCH", "", {"status": "paused"}),
    ("PATCH", "", {"assigneeAgentId": "{me}"}),
    ("POST", "/run", {}),
    ("POST", "/triggers", {"kind": "api"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), AGENT_ACTIONS_ON_A_ROUTINE)
def test_an_agent_cannot_manage_another_agents_routine(
    api: Api, office: Office, method: str, suffix: str, body: dict[str, Any]
) -> None:
    body = {k: v.format(me=office.me["id"]) if isinstance(v, str) else v for k, v in body.items()}
    path = f"/api/routines/{office.theirs['id']}{suffix}"
    before = api.ok("GET", f"/api/routines/{office.theirs['id']}")

    response = api.as_(office.my_token).call(method, path, body)

    assert (response.status, response.error) == (403, NOT_OWN)
    assert api.ok("GET", f"/api/routines/{office.theirs['id']}") == before


def test_an_agent_manages_its_own_routine(api: Api, office: Office) -> None:
    agent = api.as_(office.my_token)
    base = f"/api/routines/{office.mine['id']}"
    patched = agent.ok("PATCH", base, {"title": "Mine, renamed", "status": "paused"})
    assert (patched["title"], patched["status"]) == ("Mine, renamed", "paused")
    assert patched["updatedByAgentId"] == office.me["id"]
    assert agent.ok("PATCH", base, {"status": "active"})["status"] == "active"
    assert agent.post(f"{base}/triggers", {"kind": "api"}).status == 201
    assert agent.post(f"{base}/run", {}).status == 202


def test_an_agent_cannot_hand_its_own_routine_to_another_agent(api: Api, office: Office) -> None:
    response = api.as_(office.my_token).patch(
        f"/api/routines/{office.mine['id']}", {"assigneeAgentId": office.other["id"]}
    )
    assert (response.status, response.error) == (403, SELF_ONLY)
    assert api.ok("GET", f"/api/routines/{office.mine['id']}")["assigneeAgentId"] == office.me["id"]


def test_an_agent_reads_every_routine_of_its_company(api: Api, office: Office) -> None:
    agent = api.as_(office.my_token)
    run = fire(api, office.theirs)
    assert sorted(r["title"] for r in agent.ok("GET", routines_path(office))) == ["Mine", "Theirs"]
    assert agent.ok("GET", f"/api/routines/{office.theirs['id']}")["title"] == "Theirs"
    assert [r["id"] for r in agent.ok("GET", f"/api/routines/{office.theirs['id']}/runs")] == [
        run["id"]
    ]
    assert agent.ok("GET", f"/api/routine-runs/{run['id']}")["id"] == run["id"]


def test_an_agent_run_of_its_own_routine_is_credited_to_it(
    api: Api, office: Office, drain: Callable
) -> None:
    fire(api.as_(office.my_token), office.mine)
    drain()
    (issue,) = api.ok(
        "GET", f"/api/companies/{office.company['id']}/issues?originId={office.mine['id']}"
    )
    assert issue["createdByAgentId"] == office.me["id"]
    assert issue["createdByUserId"] is None


def test_an_agent_cannot_hand_a_run_of_its_own_routine_to_another_agent(
    api: Api, office: Office, runtime: Runtime
) -> None:
    body = {"assigneeAgentId": office.other["id"]}
    response = api.as_(office.my_token).post(f"/api/routines/{office.mine['id']}/run", body)
    assert (response.status, response.error) == (403, SELF_ONLY)
    assert run_count(runtime, office.mine) == 0


def test_an_agent_may_name_itself_as_the_assignee_of_its_own_run(
    api: Api, office: Office, drain: Callable
) -> None:
    body = {"assigneeAgentId": office.me["id"]}
    response = api.as_(office.my_token).post(f"/api/routines/{office.mine['id']}/run", body)
    assert response.status == 202
    drain()
    (issue,) = api.ok(
        "GET", f"/api/companies/{office.company['id']}/issues?originId={office.mine['id']}"
    )
    assert issue["assigneeAgentId"] == office.me["id"]


def test_a_member_with_tasks_assign_may_hand_a_run_to_any_agent(
    api: Api, office: Office, drain: Callable
) -> None:
    body = {"assigneeAgentId": office.other["id"]}
    member = api.as_(office.assigner_token)
    assert member.post(f"/api/routines/{office.mine['id']}/run", body).status == 202
    drain()
    (issue,) = api.ok(
        "GET", f"/api/companies/{office.company['id']}/issues?originId={office.mine['id']}"
    )
    assert issue["assigneeAgentId"] == office.other["id"]


# Board members


def test_a_member_without_tasks_assign_cannot_create_a_routine(api: Api, office: Office) -> None:
    reader = api.as_(office.reader_token)
    for body in ({"title": "Plan"}, {"title": "Plan", "assigneeAgentId": office.me["id"]}):
        response = reader.post(routines_path(office), body)
        assert (response.status, response.error) == (403, MISSING_ASSIGN)
    assert titles(api, office) == ["Mine", "Theirs"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("POST", "/run", {}),
        ("POST", "/triggers", {"kind": "api"}),
        ("PATCH", "", {"assigneeAgentId": "{other}"}),
        ("PATCH", "", {"assigneeAgentId": None}),
    ],
)
def test_a_member_without_tasks_assign_cannot_assign_work(
    api: Api, office: Office, runtime: Runtime, method: str, suffix: str, body: dict[str, Any]
) -> None:
    body = {
        k: v.format(other=office.other["id"]) if isinstance(v, str) else v for k, v in body.items()
    }
    before = api.ok("GET", f"/api/routines/{office.mine['id']}")
    response = api.as_(office.reader_token).call(
        method, f"/api/routines/{office.mine['id']}{suffix}", body
    )
    assert (response.status, response.error) == (403, MISSING_ASSIGN)
    assert api.ok("GET", f"/api/routines/{office.mine['id']}") == before
    assert run_count(runtime, office.mine) == 0


def test_a_member_without_tasks_assign_cannot_activate_a_routine(api: Api, office: Office) -> None:
    api.ok("PATCH", f"/api/routines/{office.mine['id']}", {"status": "paused"})
    response = api.as_(office.reader_token).patch(
        f"/api/routines/{office.mine['id']}", {"status": "active"}
    )
    assert (response.status, response.error) == (403, MISSING_ASSIGN)
    assert api.ok("GET", f"/api/routines/{office.mine['id']}")["status"] == "paused"


def test_a_member_without_tasks_assign_may_edit_what_assigns_no_work(
    api: Api, office: Office
) -> None:
    patched = api.as_(office.reader_token).ok(
        "PATCH", f"/api/routines/{office.mine['id']}", {"description": "Notes", "status": "paused"}
    )
    assert (patched["description"], patched["status"]) == ("Notes", "paused")
    assert patched["updatedByUserId"] is not None
    assert patched["updatedByAgentId"] is None


def test_a_member_without_tasks_assign_reads_routines_and_runs(api: Api, office: Office) -> None:
    reader = api.as_(office.reader_token)
    run = fire(api, office.mine)
    assert sorted(r["title"] for r in reader.ok("GET", routines_path(office))) == ["Mine", "Theirs"]
    assert reader.ok("GET", f"/api/routines/{office.mine['id']}")["id"] == office.mine["id"]
    assert [r["id"] for r in reader.ok("GET", f"/api/routines/{office.mine['id']}/runs")] == [
        run["id"]
    ]
    assert reader.ok("GET", f"/api/routine-runs/{run['id']}")["status"] == "received"
    assert reader.ok("GET", f"/api/routines/{office.mine['id']}/triggers") == []


def test_a_member_with_tasks_assign_creates_assigns_and_runs_routines(
    api: Api, office: Office, drain: Callable
) -> None:
    assigner = api.as_(office.assigner_token)
    created = assigner.post(
        routines_path(office), {"title": "Planned", "assigneeAgentId": office.other["id"]}
    )
    assert created.status == 201
    assert created.body["createdByUserId"] is not None
    assert created.body["createdByAgentId"] is None
    path = f"/api/routines/{created.body['id']}"
    reassigned = assigner.ok("PATCH", path, {"assigneeAgentId": office.me["id"]})
    assert reassigned["assigneeAgentId"] == office.me["id"]
    assert assigner.post(f"{path}/triggers", {"kind": "api"}).status == 201
    ran = assigner.post(f"{path}/run", {})
    assert ran.status == 202
    drain()
    issue = api.ok("GET", f"/api/routine-runs/{ran.body['id']}")["linkedIssue"]
    author = api.ok("GET", f"/api/issues/{issue['id']}")["createdByUserId"]
    assert author == created.body["createdByUserId"]


def test_tasks_assign_holds_only_in_the_company_that_granted_it(api: Api, office: Office) -> None:
    elsewhere = make_company(api, "Elsewhere")
    user = api.ok("POST", "/api/board-users", {"name": "Split"})
    for company, permissions in ((office.company, ["tasks:assign"]), (elsewhere, [])):
        api.ok(
            "POST",
            f"/api/companies/{company['id']}/members",
            {"userId": user["user"]["id"], "permissions": permissions},
        )
    member = api.as_(user["token"])
    granted = member.post(routines_path(office), {"title": "Allowed"})
    denied = member.post(f"/api/companies/{elsewhere['id']}/routines", {"title": "Denied"})
    assert granted.status == 201
    assert (denied.status, denied.error) == (403, MISSING_ASSIGN)
