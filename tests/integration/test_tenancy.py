"""Companies are walls: another company's resources do not exist for you (API.md 0, 1, 8)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from devstack.api import (
    Api,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_world,
)

AGENT_DENIED = "Agent key cannot access another company"
MEMBER_DENIED = "User does not have access to this company"


@dataclass
class Tenants:
    """Company A with one of everything (and an agent key); company B with an agent key
    and a member."""

    ids: dict[str, str]
    b_company: dict[str, Any]
    b_agent_token: str
    b_member_token: str
    a_key_token: str

    def outsider(self, api: Api, kind: str) -> Api:
        return api.as_(self.b_agent_token if kind == "agent" else self.b_member_token)


def make_tenants(api: Api) -> Tenants:
    a = make_world(api)
    goal = api.ok("POST", f"/api/companies/{a.company['id']}/goals", {"title": "Grow"})
    issue = api.ok("POST", f"/api/companies/{a.company['id']}/issues", {"title": "Fix it"})
    run = fire(api, a.routine)
    key = api.ok("POST", f"/api/agents/{a.agent['id']}/keys", {"name": "a-key"})
    b_company = make_company(api, "Beta")
    return Tenants(
        ids={
            "company": a.company["id"],
            "routine": a.routine["id"],
            "agent": a.agent["id"],
            "project": a.project["id"],
            "goal": goal["id"],
            "issue": issue["id"],
            "run": run["id"],
            "key": key["id"],
        },
        b_company=b_company,
        b_agent_token=make_agent_token(api, make_agent(api, b_company)),
        b_member_token=make_member(api, b_company, ["tasks:assign"]),
        a_key_token=key["token"],
    )


@pytest.fixture
def tenants(api: Api) -> Tenants:
    return make_tenants(api)


PRINCIPALS = ["agent", "member"]

READS_BY_ID = [
    ("/api/routines/{routine}", "Routine not found"),
    ("/api/routines/{routine}/runs", "Routine not found"),
    ("/api/routines/{routine}/triggers", "Routine not found"),
    ("/api/agents/{agent}", "Agent not found"),
    ("/api/projects/{project}", "Project not found"),
    ("/api/goals/{goal}", "Goal not found"),
    ("/api/issues/{issue}", "Issue not found"),
    ("/api/routine-runs/{run}", "Routine run not found"),
]

WRITES_BY_ID = [
    ("PATCH", "/api/routines/{routine}", {"title": "Mine now"}, "Routine not found"),
    ("POST", "/api/routines/{routine}/run", {}, "Routine not found"),
    ("POST", "/api/routines/{routine}/triggers", {"kind": "api"}, "Routine not found"),
    ("PATCH", "/api/agents/{agent}", {"name": "Renamed"}, "Agent not found"),
    ("POST", "/api/agents/{agent}/keys", {"name": "stolen"}, "Agent not found"),
    ("DELETE", "/api/agents/{agent}/keys/{key}", None, "Agent not found"),
    ("PATCH", "/api/projects/{project}", {"name": "Renamed"}, "Project not found"),
    ("POST", "/api/projects/{project}/pause", {"reason": "x"}, "Project not found"),
    ("POST", "/api/projects/{project}/resume", {}, "Project not found"),
    ("PATCH", "/api/issues/{issue}", {"status": "done"}, "Issue not found"),
]

COMPANY_PATHS = [
    ("GET", "/api/companies/{company}", None),
    ("GET", "/api/companies/{company}/routines", None),
    ("POST", "/api/companies/{company}/routines", {"title": "Sneaky"}),
    ("GET", "/api/companies/{company}/agents", None),
    ("POST", "/api/companies/{company}/agents", {"name": "Mole"}),
    ("GET", "/api/companies/{company}/projects", None),
    ("POST", "/api/companies/{company}/projects", {"name": "Heist"}),
    ("GET", "/api/companies/{company}/goals", None),
    ("POST", "/api/companies/{company}/goals", {"title": "Take over"}),
    ("GET", "/api/companies/{company}/issues", None),
    ("POST", "/api/companies/{company}/issues", {"title": "Plant"}),
    ("GET", "/api/companies/{company}/members", None),
]


@pytest.mark.parametrize("kind", PRINCIPALS)
@pytest.mark.parametrize(("template", "message"), READS_BY_ID)
def test_another_companys_resource_read_by_id_is_not_found(
    api: Api, tenants: Tenants, kind: str, template: str, message: str
) -> None:
    path = template.format(**tenants.ids)
    assert api.get(path).status == 200
    response = tenants.outsider(api, kind).get(path)
    assert (response.status, response.body) == (404, {"error": message})


@pytest.mark.parametrize("kind", PRINCIPALS)
@pytest.mark.parametrize(("method", "template", "body", "message"), WRITES_BY_ID)
def test_another_companys_resource_written_by_id_is_not_found_and_unchanged(
    api: Api,
    tenants: Tenants,
    kind: str,
    method: str,
    template: str,
    body: dict[str, Any] | None,
    message: str,
) -> None:
    before = snapshot(api, tenants)
    response = tenants.outsider(api, kind).call(method, template.format(**tenants.ids), body)
    assert (response.status, response.body) == (404, {"error": message})
    assert snapshot(api, tenants) == before


def snapshot(api: Api, tenants: Tenants) -> list[Any]:
    ids = tenants.ids
    return [
        api.ok("GET", f"/api/routines/{ids['routine']}"),
        api.ok("GET", f"/api/agents/{ids['agent']}"),
        api.ok("GET", f"/api/projects/{ids['project']}"),
        api.ok("GET", f"/api/issues/{ids['issue']}"),
        api.as_(tenants.a_key_token).get(f"/api/agents/{ids['agent']}").status,
    ]


@pytest.mark.parametrize(("template", "message"), READS_BY_ID)
def test_another_companys_resource_looks_exactly_like_a_missing_one(
    api: Api, tenants: Tenants, template: str, message: str
) -> None:
    outsider = tenants.outsider(api, "agent")
    missing = {key: str(uuid.uuid4()) for key in tenants.ids}
    hidden = outsider.get(template.format(**tenants.ids))
    absent = outsider.get(template.format(**missing))
    assert (hidden.status, hidden.body) == (absent.status, absent.body) == (404, {"error": message})


@pytest.mark.parametrize(("kind", "message"), [("agent", AGENT_DENIED), ("member", MEMBER_DENIED)])
@pytest.mark.parametrize(("method", "template", "body"), COMPANY_PATHS)
def test_another_companys_id_in_the_path_is_forbidden(
    api: Api,
    tenants: Tenants,
    kind: str,
    message: str,
    method: str,
    template: str,
    body: dict[str, Any] | None,
) -> None:
    path = template.format(**tenants.ids)
    response = tenants.outsider(api, kind).call(method, path, body)
    assert (response.status, response.body) == (403, {"error": message})


@pytest.mark.parametrize(("kind", "message"), [("agent", AGENT_DENIED), ("member", MEMBER_DENIED)])
def test_an_unknown_company_id_in_the_path_is_forbidden_not_revealed(
    api: Api, tenants: Tenants, kind: str, message: str
) -> None:
    response = tenants.outsider(api, kind).get(f"/api/companies/{uuid.uuid4()}/routines")
    assert (response.status, response.body) == (403, {"error": message})


def test_nothing_is_created_in_another_company_through_its_path(api: Api, tenants: Tenants) -> None:
    company = tenants.ids["company"]
    for kind in PRINCIPALS:
        outsider = tenants.outsider(api, kind)
        outsider.post(f"/api/companies/{company}/routines", {"title": "Sneaky"})
        outsider.post(f"/api/companies/{company}/issues", {"title": "Plant"})
    assert [r["title"] for r in api.ok("GET", f"/api/companies/{company}/routines")] == [
        "Daily check"
    ]
    assert [i["title"] for i in api.ok("GET", f"/api/companies/{company}/issues")] == ["Fix it"]


@pytest.mark.parametrize("kind", PRINCIPALS)
def test_own_company_paths_are_open_to_its_agents_and_members(
    api: Api, tenants: Tenants, kind: str
) -> None:
    insider = tenants.outsider(api, kind)
    company = tenants.b_company["id"]
    assert insider.ok("GET", f"/api/companies/{company}")["id"] == company
    assert insider.ok("GET", f"/api/companies/{company}/routines") == []
    assert len(insider.ok("GET", f"/api/companies/{company}/agents")) == 1


@pytest.mark.parametrize("kind", PRINCIPALS)
def test_company_list_shows_only_the_callers_companies(
    api: Api, tenants: Tenants, kind: str
) -> None:
    listed = tenants.outsider(api, kind).ok("GET", "/api/companies")
    assert [c["id"] for c in listed] == [tenants.b_company["id"]]


def test_company_list_shows_every_company_a_member_belongs_to(api: Api, tenants: Tenants) -> None:
    user = api.ok("POST", "/api/board-users", {"name": "Both"})
    for company in (tenants.ids["company"], tenants.b_company["id"]):
        api.ok("POST", f"/api/companies/{company}/members", {"userId": user["user"]["id"]})
    make_company(api, "Gamma")
    listed = api.as_(user["token"]).ok("GET", "/api/companies")
    assert {c["id"] for c in listed} == {tenants.ids["company"], tenants.b_company["id"]}


def test_company_list_shows_every_company_to_the_admin(api: Api, tenants: Tenants) -> None:
    gamma = make_company(api, "Gamma")
    listed = {c["id"] for c in api.ok("GET", "/api/companies")}
    assert listed == {tenants.ids["company"], tenants.b_company["id"], gamma["id"]}


@pytest.mark.parametrize("kind", PRINCIPALS)
@pytest.mark.parametrize(
    "attempt",
    [
        lambda api, t: api.post("/api/companies", {"name": "Mine"}),
        lambda api, t: api.post("/api/board-users", {"name": "Friend"}),
        lambda api, t: api.post(
            f"/api/companies/{t.b_company['id']}/members", {"userId": str(uuid.uuid4())}
        ),
    ],
    ids=["company", "board-user", "membership"],
)
def test_only_the_admin_creates_companies_board_users_and_memberships(
    api: Api, tenants: Tenants, kind: str, attempt: Callable[[Api, Tenants], Any]
) -> None:
    response = attempt(tenants.outsider(api, kind), tenants)
    assert response.status == 403
    assert isinstance(response.error, str)
    assert response.error
    assert len(api.ok("GET", "/api/companies")) == 2
