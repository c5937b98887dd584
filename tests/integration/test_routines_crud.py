"""Creating, changing and reading routines (API.md sections 0 and 3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from devstack.api import (
    Api,
    fire,
    make_agent,
    make_company,
    make_project,
    make_routine,
    make_world,
)
from shared.platform.runtime import Runtime

ROUTINE_FIELDS = {
    "id",
    "companyId",
    "projectId",
    "goalId",
    "parentIssueId",
    "title",
    "description",
    "assigneeAgentId",
    "priority",
    "status",
    "concurrencyPolicy",
    "catchUpPolicy",
    "variables",
    "createdByAgentId",
    "createdByUserId",
    "updatedByAgentId",
    "updatedByUserId",
    "lastTriggeredAt",
    "lastEnqueuedAt",
    "createdAt",
    "updatedAt",
}


def create(api: Api, company: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(f"/api/companies/{company['id']}/routines", body)


def patch(api: Api, routine: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.patch(f"/api/routines/{routine['id']}", body)


def stored(api: Api, routine: dict[str, Any]) -> dict[str, Any]:
    return api.ok("GET", f"/api/routines/{routine['id']}")


def listed(api: Api, company: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    return api.ok("GET", f"/api/companies/{company['id']}/routines{query}")


# Create


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


# Reference rules


def _goal(api: Api, company: dict[str, Any]) -> str:
    return str(api.ok("POST", f"/api/companies/{company['id']}/goals", {"title": "G"})["id"])


def _issue(api: Api, company: dict[str, Any]) -> str:
    return str(api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "P"})["id"])


REFERENCES = [
    ("projectId", lambda api, c: make_project(api, c)["id"], "Project"),
    ("goalId", _goal, "Goal"),
    ("parentIssueId", _issue, "Parent issue"),
]


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_missing_reference_is_not_found(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "R", field: str(uuid.uuid4())})
    assert (response.status, response.error) == (404, f"{label} not found")
    assert listed(api, company) == []


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_reference_into_another_company_is_unprocessable(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company, other = make_company(api, "Mine"), make_company(api, "Theirs")
    response = create(api, company, {"title": "R", field: build(api, other)})
    assert (response.status, response.error) == (422, f"{label} must belong to same company")
    assert listed(api, company) == []


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_reference_of_the_same_company_is_kept(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company = make_company(api)
    reference = build(api, company)
    assert make_routine(api, company, None, **{field: reference})[field] == reference


def test_a_missing_assignee_is_not_found(api: Api) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "R", "assigneeAgentId": str(uuid.uuid4())})
    assert (response.status, response.error) == (404, "Assignee agent not found")


def test_an_assignee_of_another_company_is_unprocessable(api: Api) -> None:
    company = make_company(api, "Mine")
    stranger = make_agent(api, make_company(api, "Theirs"))
    response = create(api, company, {"title": "R", "assigneeAgentId": stranger["id"]})
    assert (response.status, response.error) == (422, "Assignee must belong to same company")
    assert listed(api, company) == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("pending_approval", "Cannot assign routines to pending approval agents"),
        ("terminated", "Cannot assign routines to terminated agents"),
    ],
)
def test_an_assignee_that_cannot_work_is_a_conflict(api: Api, status: str, message: str) -> None:
    company = make_company(api)
    agent = make_agent(api, company, status=status)
    response = create(api, company, {"title": "R", "assigneeAgentId": agent["id"]})
    assert (response.status, response.error) == (409, message)
    routine = make_routine(api, company, None)
    patched = patch(api, routine, {"assigneeAgentId": agent["id"]})
    assert (patched.status, patched.error) == (409, message)
    assert stored(api, routine)["assigneeAgentId"] is None


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_patch_checks_references_like_a_create(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    world = make_world(api)
    other = make_company(api, "Theirs")
    missing = patch(api, world.routine, {field: str(uuid.uuid4())})
    foreign = patch(api, world.routine, {field: build(api, other)})
    assert (missing.status, missing.error) == (404, f"{label} not found")
    assert (foreign.status, foreign.error) == (422, f"{label} must belong to same company")
    assert stored(api, world.routine)[field] == world.routine[field]


def test_a_patch_to_another_companys_assignee_is_unprocessable(api: Api) -> None:
    world = make_world(api)
    stranger = make_agent(api, make_company(api, "Theirs"))
    response = patch(api, world.routine, {"assigneeAgentId": stranger["id"]})
    assert (response.status, response.error) == (422, "Assignee must belong to same company")
    assert stored(api, world.routine)["assigneeAgentId"] == world.agent["id"]


# Status rules and lifecycle


def test_activating_a_routine_without_an_assignee_is_unprocessable(api: Api) -> None:
    routine = make_routine(api, make_company(api), None)
    response = patch(api, routine, {"status": "active"})
    assert (response.status, response.error) == (422, "Default agent required")
    assert stored(api, routine)["status"] == "paused"


def test_activating_while_removing_the_assignee_is_unprocessable(api: Api) -> None:
    world = make_world(api, status="paused")
    response = patch(api, world.routine, {"status": "active", "assigneeAgentId": None})
    assert (response.status, response.error) == (422, "Default agent required")
    after = stored(api, world.routine)
    assert (after["status"], after["assigneeAgentId"]) == ("paused", world.agent["id"])


def test_assigning_and_activating_in_one_patch_is_allowed(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    routine = make_routine(api, company, None)
    patched = api.ok(
        "PATCH",
        f"/api/routines/{routine['id']}",
        {"status": "active", "assigneeAgentId": agent["id"]},
    )
    assert (patched["status"], patched["assigneeAgentId"]) == ("active", agent["id"])


def test_removing_the_assignee_of_an_active_routine_pauses_it(api: Api) -> None:
    world = make_world(api)
    patched = api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"assigneeAgentId": None})
    assert (patched["status"], patched["assigneeAgentId"]) == ("paused", None)
    assert stored(api, world.routine)["status"] == "paused"


def test_a_routine_moves_between_active_and_paused_and_then_to_archived(api: Api) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}"
    assert api.ok("PATCH", path, {"status": "paused"})["status"] == "paused"
    assert api.ok("PATCH", path, {"status": "active"})["status"] == "active"
    assert api.ok("PATCH", path, {"status": "archived"})["status"] == "archived"
    assert stored(api, world.routine)["status"] == "archived"


@pytest.mark.parametrize("start", ["active", "paused"])
@pytest.mark.parametrize("target", ["active", "paused"])
def test_an_archived_routine_cannot_be_reactivated(api: Api, start: str, target: str) -> None:
    world = make_world(api, status=start)
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})
    response = patch(api, world.routine, {"status": target})
    assert (response.status, response.error) == (409, "Archived routines cannot be reactivated")
    assert stored(api, world.routine)["status"] == "archived"


def test_a_patch_changes_only_the_fields_it_names(api: Api) -> None:
    world = make_world(api, description="Keep me", priority="high")
    patched = api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"title": "  Renamed "})
    assert patched["title"] == "Renamed"
    unchanged = ("description", "priority", "assigneeAgentId", "projectId", "status", "createdAt")
    assert {k: patched[k] for k in unchanged} == {k: world.routine[k] for k in unchanged}
    assert patched["updatedAt"] >= world.routine["updatedAt"]


def test_an_empty_patch_changes_nothing_but_the_update_stamp(api: Api) -> None:
    world = make_world(api)
    patched = api.ok("PATCH", f"/api/routines/{world.routine['id']}", {})
    stamps = {"updatedAt", "updatedByAgentId", "updatedByUserId"}
    assert {k: v for k, v in patched.items() if k not in stamps} == {
        k: v for k, v in world.routine.items() if k not in stamps
    }


@pytest.mark.parametrize("title", ["", "  ", "y" * 201])
def test_a_patch_with_a_bad_title_is_a_validation_error(api: Api, title: str) -> None:
    world = make_world(api)
    response = patch(api, world.routine, {"title": title})
    assert (response.status, response.error) == (400, "Validation error")
    assert stored(api, world.routine)["title"] == world.routine["title"]


# Reading


def test_routines_are_listed_newest_update_first(api: Api) -> None:
    company = make_company(api)
    first = make_routine(api, company, None, title="First")
    second = make_routine(api, company, None, title="Second")
    third = make_routine(api, company, None, title="Third")
    assert [r["id"] for r in listed(api, company)] == [third["id"], second["id"], first["id"]]
    api.ok("PATCH", f"/api/routines/{first['id']}", {"description": "touched"})
    assert [r["id"] for r in listed(api, company)] == [first["id"], third["id"], second["id"]]


def test_routines_updated_at_the_same_instant_are_listed_by_title(
    api: Api, runtime: Runtime
) -> None:
    company = make_company(api)
    for title in ("Charlie", "Alpha", "Bravo"):
        make_routine(api, company, None, title=title)
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE routines SET updated_at = :at"), {"at": datetime(2026, 1, 1, tzinfo=UTC)}
        )
    assert [r["title"] for r in listed(api, company)] == ["Alpha", "Bravo", "Charlie"]


def test_the_list_shows_each_routines_triggers_last_run_and_active_issue(
    api: Api, drain: Callable
) -> None:
    world = make_world(api)
    idle = make_routine(api, world.company, world.agent, title="Idle")
    trigger = api.ok(
        "POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "api", "label": "ci"}
    )["trigger"]
    run = fire(api, world.routine)
    drain()

    items = {item["id"]: item for item in listed(api, world.company)}

    busy = items[world.routine["id"]]
    assert set(busy) == ROUTINE_FIELDS | {"triggers", "lastRun", "activeIssue"}
    assert [t["id"] for t in busy["triggers"]] == [trigger["id"]]
    assert set(busy["triggers"][0]) == {
        "id",
        "kind",
        "label",
        "enabled",
        "cronExpression",
        "timezone",
        "nextRunAt",
        "lastFiredAt",
        "lastResult",
    }
    assert (busy["triggers"][0]["kind"], busy["triggers"][0]["label"]) == ("api", "ci")
    assert busy["lastRun"]["id"] == run["id"]
    assert busy["lastRun"]["status"] == "issue_created"
    assert busy["activeIssue"]["id"] == busy["lastRun"]["linkedIssueId"]
    assert set(busy["activeIssue"]) == {
        "id",
        "identifier",
        "title",
        "status",
        "priority",
        "updatedAt",
    }
    assert (items[idle["id"]]["triggers"], items[idle["id"]]["lastRun"]) == ([], None)
    assert items[idle["id"]]["activeIssue"] is None


def test_the_list_can_be_narrowed_to_one_project(api: Api) -> None:
    world = make_world(api)
    other_project = make_project(api, world.company, name="Other")
    make_routine(api, world.company, world.agent, title="Elsewhere", projectId=other_project["id"])
    make_routine(api, world.company, world.agent, title="Nowhere")
    narrowed = listed(api, world.company, f"?projectId={world.project['id']}")
    assert [r["id"] for r in narrowed] == [world.routine["id"]]
    assert len(listed(api, world.company)) == 3


def test_the_detail_shows_project_assignee_parent_triggers_runs_and_active_issue(
    api: Api, drain: Callable
) -> None:
    world = make_world(api)
    parent = api.ok("POST", f"/api/companies/{world.company['id']}/issues", {"title": "Epic"})
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"parentIssueId": parent["id"]})
    trigger = api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "api"})
    first = fire(api, world.routine)
    second = fire(api, world.routine, source="api", triggerId=trigger["trigger"]["id"])
    drain()

    detail = api.ok("GET", f"/api/routines/{world.routine['id']}")

    assert set(detail) == ROUTINE_FIELDS | {
        "project",
        "assignee",
        "parentIssue",
        "triggers",
        "recentRuns",
        "activeIssue",
    }
    assert detail["project"] == api.ok("GET", f"/api/projects/{world.project['id']}")
    assert detail["assignee"] == api.ok("GET", f"/api/agents/{world.agent['id']}")
    assert detail["parentIssue"] == api.ok("GET", f"/api/issues/{parent['id']}")
    (shown,) = detail["triggers"]
    assert set(shown) == set(trigger["trigger"])
    assert (shown["id"], shown["kind"]) == (trigger["trigger"]["id"], "api")
    assert shown["lastResult"] == "Coalesced into an existing live execution issue"
    assert [r["id"] for r in detail["recentRuns"]] == [second["id"], first["id"]]
    assert [r["status"] for r in detail["recentRuns"]] == ["coalesced", "issue_created"]
    assert [r["trigger"] for r in detail["recentRuns"]] == [
        {"id": shown["id"], "kind": "api", "label": None},
        None,
    ]
    assert detail["activeIssue"] == api.ok("GET", f"/api/issues/{detail['activeIssue']['id']}")
    assert detail["activeIssue"]["originRunId"] == first["id"]
    assert detail["activeIssue"]["parentId"] == parent["id"]


def test_the_detail_of_a_bare_routine_has_nulls_and_empty_lists(api: Api) -> None:
    routine = make_routine(api, make_company(api), None)
    detail = api.ok("GET", f"/api/routines/{routine['id']}")
    assert (detail["project"], detail["assignee"], detail["parentIssue"]) == (None, None, None)
    assert (detail["triggers"], detail["recentRuns"], detail["activeIssue"]) == ([], [], None)


def test_the_detail_shows_the_25_newest_runs(api: Api) -> None:
    world = make_world(api)
    fired = [fire(api, world.routine)["id"] for _ in range(27)]
    detail = api.ok("GET", f"/api/routines/{world.routine['id']}")
    assert [r["id"] for r in detail["recentRuns"]] == fired[::-1][:25]


def test_a_finished_execution_issue_is_no_longer_the_active_issue(
    api: Api, drain: Callable
) -> None:
    world = make_world(api)
    fire(api, world.routine)
    drain()
    active = api.ok("GET", f"/api/routines/{world.routine['id']}")["activeIssue"]
    api.ok("PATCH", f"/api/issues/{active['id']}", {"status": "done"})
    assert api.ok("GET", f"/api/routines/{world.routine['id']}")["activeIssue"] is None
    assert listed(api, world.company)[0]["activeIssue"] is None


# Conventions of section 0 on routine paths


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/routines/not-a-uuid"),
        ("PATCH", "/api/routines/not-a-uuid"),
        ("GET", "/api/routines/12345/runs"),
        ("POST", "/api/routines/zzz/run"),
        ("POST", "/api/routines/zzz/triggers"),
        ("GET", f"/api/routines/{uuid.uuid4()}"),
    ],
)
def test_a_malformed_or_unknown_routine_id_is_not_found(api: Api, method: str, path: str) -> None:
    body = {"kind": "api"} if path.endswith("triggers") else {}
    response = api.call(method, path, body if method != "GET" else None)
    assert (response.status, response.body) == (404, {"error": "Routine not found"})


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing-here"), ("POST", "/api/routines"), ("GET", "/api/routines/a/b/c")],
)
def test_an_unknown_api_route_is_not_found(api: Api, method: str, path: str) -> None:
    response = api.call(method, path, {} if method == "POST" else None)
    assert (response.status, response.body) == (404, {"error": "API route not found"})


@pytest.mark.parametrize("raw", [b"{not json", b'{"title": "x",}', b"\xff\xfe", b'{"title'])
def test_a_malformed_json_body_is_a_bad_request(api: Api, raw: bytes) -> None:
    company = make_company(api)
    response = api.post(f"/api/companies/{company['id']}/routines", raw)
    assert response.status == 400
    assert isinstance(response.error, str)
    assert response.error
    assert listed(api, company) == []


@pytest.mark.parametrize("raw", [b"[]", b'"title"', b"42", b"null"])
def test_a_json_body_that_is_not_an_object_is_a_bad_request(api: Api, raw: bytes) -> None:
    world = make_world(api)
    created = api.post(f"/api/companies/{world.company['id']}/routines", raw)
    patched = api.call("PATCH", f"/api/routines/{world.routine['id']}", raw)
    assert created.status == 400
    assert patched.status == 400
    assert len(listed(api, world.company)) == 1
