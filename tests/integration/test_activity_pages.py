"""Reading the activity log: newest first, pages by `before`, filters, bad input as 400,
another company's log as 403/404, and no route that changes or deletes an entry."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.api import Api, make_agent, make_agent_token, make_company, make_member, make_world
from tests.support.activity import actions, activity, next_link


def edits(api: Api, routine: dict[str, Any], count: int) -> None:
    for n in range(count):
        api.ok("PATCH", f"/api/routines/{routine['id']}", {"description": f"edit {n}"})


def test_entries_of_one_instant_list_newest_first(sched_api: Api) -> None:
    """On a clock that does not move every entry shares `createdAt`; the order is still
    the order they were written in."""
    world = make_world(sched_api)
    edits(sched_api, world.routine, 3)

    entries = activity(sched_api, world.company)

    assert len({entry["createdAt"] for entry in entries}) == 1
    assert actions(entries) == [
        "routine.updated",
        "routine.updated",
        "routine.updated",
        "routine.created",
        "project.created",
        "agent.created",
    ]
    descriptions = [e["details"]["changes"]["description"]["new"] for e in entries[:3]]
    assert descriptions == ["edit 2", "edit 1", "edit 0"]


def test_pages_follow_the_link_header_until_the_last_one(sched_api: Api) -> None:
    world = make_world(sched_api)
    edits(sched_api, world.routine, 4)
    everything = activity(sched_api, world.company)
    assert len(everything) == 7

    seen: list[dict[str, Any]] = []
    path: str | None = f"/api/companies/{world.company['id']}/activity?limit=3"
    pages = 0
    while path is not None:
        response = sched_api.get(path)
        assert response.status == 200
        seen += response.body
        pages += 1
        path = next_link(response.headers)
        if path is not None:
            assert f"before={response.body[-1]['id']}" in path
            assert "limit=3" in path

    assert pages == 3
    assert [e["id"] for e in seen] == [e["id"] for e in everything]


def test_before_starts_after_the_named_entry(api: Api) -> None:
    world = make_world(api)
    edits(api, world.routine, 2)
    everything = activity(api, world.company)

    rest = activity(api, world.company, f"?before={everything[1]['id']}")

    assert [e["id"] for e in rest] == [e["id"] for e in everything[2:]]
    assert activity(api, world.company, f"?before={everything[-1]['id']}") == []


def test_filters_by_entity_type_and_id_and_keeps_them_in_the_link(api: Api) -> None:
    world = make_world(api)
    other = api.ok(
        "POST",
        f"/api/companies/{world.company['id']}/routines",
        {"title": "Other", "assigneeAgentId": world.agent["id"]},
    )
    edits(api, world.routine, 2)
    edits(api, other, 1)

    routines = activity(api, world.company, "?entityType=routine")
    assert {e["entityType"] for e in routines} == {"routine"}
    assert len(routines) == 5
    query = f"?entityType=routine&entityId={world.routine['id']}&limit=2"
    response = api.get(f"/api/companies/{world.company['id']}/activity{query}")
    assert [e["entityId"] for e in response.body] == [world.routine["id"]] * 2
    link = next_link(response.headers)
    assert link is not None
    assert f"entityId={world.routine['id']}" in link
    assert "entityType=routine" in link
    last = api.ok("GET", link)
    assert actions(last) == ["routine.created"]
    assert activity(api, world.company, f"?entityId={uuid.uuid4()}") == []


def test_an_empty_parameter_is_no_parameter(api: Api) -> None:
    world = make_world(api)
    assert len(activity(api, world.company, "?limit=&before=&entityType=&entityId=")) == 3


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("entityType=issue", "entityType"),
        ("entityType=%00", "entityType"),
        ("entityId=42", "entityId"),
        ("before=not-an-id", "before"),
        ("before=%00", "before"),
    ],
)
def test_a_bad_query_value_is_a_400_naming_it(api: Api, query: str, key: str) -> None:
    world = make_world(api)
    response = api.get(f"/api/companies/{world.company['id']}/activity?{query}")
    assert (response.status, response.error) == (400, "Validation error")
    assert [problem["path"] for problem in response.body["details"]] == [[key]]


def test_the_limit_bounds_are_accepted(api: Api) -> None:
    world = make_world(api)
    assert len(activity(api, world.company, "?limit=1")) == 1
    assert len(activity(api, world.company, "?limit=200")) == 3


def test_before_naming_no_entry_of_this_company_is_a_400(api: Api) -> None:
    world = make_world(api)
    beta = make_company(api, "Beta")
    make_agent(api, beta)
    foreign = activity(api, beta)[0]["id"]
    message = "before must be the id of an activity entry of this company"
    for before in (foreign, str(uuid.uuid4())):
        response = api.get(f"/api/companies/{world.company['id']}/activity?before={before}")
        assert (response.status, response.error) == (400, message)


def test_another_companys_log_is_refused_like_any_company_path(api: Api) -> None:
    world = make_world(api)
    beta = make_company(api, "Beta")
    path = f"/api/companies/{world.company['id']}/activity"
    outsider_agent = make_agent_token(api, make_agent(api, beta))
    outsider_member = make_member(api, beta, ["tasks:assign"])

    as_agent = api.as_(outsider_agent).get(path)
    as_member = api.as_(outsider_member).get(path)

    assert (as_agent.status, as_agent.error) == (403, "Agent key cannot access another company")
    assert (as_member.status, as_member.error) == (
        403,
        "User does not have access to this company",
    )
    assert api.as_(None).get(path).status == 401
    assert api.get(f"/api/companies/{uuid.uuid4()}/activity").status == 404
    assert api.get("/api/companies/not-an-id/activity").status == 404


def test_members_and_agents_of_the_company_read_its_log(api: Api) -> None:
    world = make_world(api)
    path = f"/api/companies/{world.company['id']}/activity"
    for token in (make_member(api, world.company), make_agent_token(api, world.agent)):
        response = api.as_(token).get(path)
        assert response.status == 200
        assert "agent.created" in actions(response.body)


def test_another_companys_entries_never_show(api: Api) -> None:
    world = make_world(api)
    beta = make_company(api, "Beta")
    make_agent(api, beta, name="Elsewhere")
    assert {e["companyId"] for e in activity(api, world.company)} == {world.company["id"]}
    assert actions(activity(api, beta)) == ["agent.created"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_no_route_changes_or_deletes_an_entry(api: Api, method: str) -> None:
    world = make_world(api)
    entries = activity(api, world.company)
    entry = entries[0]["id"]
    company = world.company["id"]
    collection = api.call(method, f"/api/companies/{company}/activity", {})
    assert (collection.status, collection.error) == (405, "Method not allowed")
    for path in (f"/api/companies/{company}/activity/{entry}", f"/api/activity/{entry}"):
        assert api.call(method, path, {}).status == 404
    assert activity(api, world.company) == entries
