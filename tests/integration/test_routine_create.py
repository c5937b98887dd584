"""Creating routines (API.md 3): the contract's defaults, the fields kept, and the rules
a create body must follow."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.api import Api, make_agent, make_company, make_project, make_routine
from tests.support.routines import ROUTINE_FIELDS, create, listed, stored


def test_a_routine_is_created_with_the_contract_defaults(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    response = create(api, company, {"title": "Daily check", "assigneeAgentId": agent["id"]})
    assert response.status == 201
    routine = response.body
    assert set(routine) == ROUTINE_FIELDS
    assert {k: routine[k] for k in ("companyId", "title", "assigneeAgentId")} == {
        "companyId": company["id"],
        "title": "Daily check",
        "assigneeAgentId": agent["id"],
    }
    assert routine["priority"] == "medium"
    assert routine["status"] == "active"
    assert routine["concurrencyPolicy"] == "coalesce_if_active"
    assert routine["catchUpPolicy"] == "skip_missed"
    assert routine["variables"] == []
    for empty in ("description", "projectId", "goalId", "parentIssueId"):
        assert routine[empty] is None, empty
    assert (routine["lastTriggeredAt"], routine["lastEnqueuedAt"]) == (None, None)


def test_a_routine_keeps_every_field_it_was_created_with(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    project = make_project(api, company)
    goal = api.ok("POST", f"/api/companies/{company['id']}/goals", {"title": "Grow"})
    parent = api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "Epic"})
    body = {
        "title": "Weekly report",
        "description": "Summarise the week",
        "assigneeAgentId": agent["id"],
        "projectId": project["id"],
        "goalId": goal["id"],
        "parentIssueId": parent["id"],
        "priority": "critical",
        "status": "paused",
        "concurrencyPolicy": "always_enqueue",
        "catchUpPolicy": "enqueue_missed_with_cap",
    }
    routine = api.ok("POST", f"/api/companies/{company['id']}/routines", body)
    assert {k: routine[k] for k in body} == body
    assert {k: stored(api, routine)[k] for k in body} == body


def test_unknown_keys_in_a_create_body_are_ignored(api: Api) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "Lenient", "colour": "blue", "status": "paused"})
    assert response.status == 201
    assert "colour" not in response.body


@pytest.mark.parametrize("status", [None, "active"])
def test_an_active_routine_without_an_assignee_is_stored_paused(
    api: Api, status: str | None
) -> None:
    company = make_company(api)
    body = {"title": "Nobody's"} | ({"status": status} if status else {})
    routine = api.ok("POST", f"/api/companies/{company['id']}/routines", body)
    assert routine["status"] == "paused"
    assert stored(api, routine)["status"] == "paused"


def test_an_archived_routine_can_be_created_without_an_assignee(api: Api) -> None:
    routine = make_routine(api, make_company(api), None, status="archived")
    assert routine["status"] == "archived"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [("  Padded title  ", "Padded title"), ("x" * 200, "x" * 200), ("\tTabbed\n", "Tabbed")],
)
def test_a_title_is_trimmed_and_may_be_200_characters(api: Api, raw: str, kept: str) -> None:
    routine = make_routine(api, make_company(api), None, title=raw)
    assert routine["title"] == kept


@pytest.mark.parametrize("title", ["", "   ", "x" * 201, None, 42])
def test_a_missing_empty_or_overlong_title_is_a_validation_error(api: Api, title: Any) -> None:
    company = make_company(api)
    response = create(api, company, {"title": title})
    assert (response.status, response.error) == (400, "Validation error")
    assert [d["path"] for d in response.body["details"]] == [["title"]]
    assert listed(api, company) == []


def test_a_create_body_without_a_title_is_a_validation_error(api: Api) -> None:
    company = make_company(api)
    response = create(api, company, {"priority": "high"})
    assert (response.status, response.error) == (400, "Validation error")
    assert ["title"] in [d["path"] for d in response.body["details"]]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("priority", "urgent"),
        ("status", "deleted"),
        ("concurrencyPolicy", "queue"),
        ("catchUpPolicy", "enqueue_all"),
        ("assigneeAgentId", "not-a-uuid"),
        ("projectId", 7),
        ("variables", "none"),
    ],
)
def test_a_field_outside_its_rule_is_a_validation_error(api: Api, field: str, value: Any) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "Bad", field: value})
    assert (response.status, response.error) == (400, "Validation error")
    assert [d["path"] for d in response.body["details"]] == [[field]]
    assert listed(api, company) == []
