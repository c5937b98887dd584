"""Firing a routine by hand or by API: the checks before anything is recorded (API.md 5.1,
5.2) and the run it answers with."""

from __future__ import annotations

import uuid
from collections.abc import Callable
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

RUN_FIELDS = {
    "id",
    "companyId",
    "routineId",
    "triggerId",
    "source",
    "status",
    "triggeredAt",
    "scheduledFor",
    "idempotencyKey",
    "triggerPayload",
    "linkedIssueId",
    "coalescedIntoRunId",
    "replayOfRunId",
    "failureReason",
    "completedAt",
    "createdAt",
    "updatedAt",
    "linkedIssue",
    "trigger",
}


def run(api: Api, routine: dict[str, Any], body: Any = None) -> Any:
    return api.post(f"/api/routines/{routine['id']}/run", {} if body is None else body)


def add_trigger(api: Api, routine: dict[str, Any], **fields: Any) -> dict[str, Any]:
    path = f"/api/routines/{routine['id']}/triggers"
    return dict(api.ok("POST", path, {"kind": "api", **fields})["trigger"])


def run_count(runtime: Runtime, routine: dict[str, Any] | None = None) -> int:
    query = "SELECT count(*) FROM routine_runs"
    if routine is not None:
        query += " WHERE routine_id = :id"
    with runtime.engine.connect() as connection:
        params = {"id": routine["id"]} if routine else {}
        return int(connection.execute(text(query), params).scalar_one())


def test_a_run_is_answered_202_with_its_summary(api: Api) -> None:
    world = make_world(api)
    response = run(api, world.routine, {"payload": {"ticket": 7}})
    assert response.status == 202
    body = response.body
    assert set(body) == RUN_FIELDS
    assert (body["companyId"], body["routineId"]) == (world.company["id"], world.routine["id"])
    assert (body["source"], body["status"]) == ("manual", "received")
    assert body["triggerPayload"] == {"ticket": 7}
    assert (body["triggerId"], body["trigger"]) == (None, None)
    assert (body["linkedIssueId"], body["linkedIssue"]) == (None, None)
    assert body["triggeredAt"] is not None


def test_the_run_can_be_fetched_by_id_before_and_after_its_decision(
    api: Api, drain: Callable
) -> None:
    world = make_world(api)
    fired = fire(api, world.routine)
    assert api.ok("GET", f"/api/routine-runs/{fired['id']}") == fired
    drain()
    decided = api.ok("GET", f"/api/routine-runs/{fired['id']}")
    assert set(decided) == RUN_FIELDS
    assert decided["status"] == "issue_created"
    assert decided["linkedIssue"]["id"] == decided["linkedIssueId"]
    assert set(decided["linkedIssue"]) == {
        "id",
        "identifier",
        "title",
        "status",
        "priority",
        "updatedAt",
    }
    assert decided["linkedIssue"]["status"] == "todo"


@pytest.mark.parametrize("run_id", ["not-a-uuid", str(uuid.uuid4())])
def test_an_unknown_run_is_not_found(api: Api, run_id: str) -> None:
    response = api.get(f"/api/routine-runs/{run_id}")
    assert (response.status, response.body) == (404, {"error": "Routine run not found"})


def test_an_api_run_through_its_trigger_is_recorded_as_such(api: Api) -> None:
    world = make_world(api)
    trigger = add_trigger(api, world.routine, label="deploys")
    response = run(api, world.routine, {"source": "api", "triggerId": trigger["id"]})
    assert response.status == 202
    assert (response.body["source"], response.body["triggerId"]) == ("api", trigger["id"])
    assert response.body["trigger"] == {"id": trigger["id"], "kind": "api", "label": "deploys"}


def test_a_missing_routine_cannot_be_run(api: Api, runtime: Runtime) -> None:
    response = run(api, {"id": str(uuid.uuid4())})
    assert (response.status, response.error) == (404, "Routine not found")
    assert run_count(runtime) == 0


def test_an_archived_routine_cannot_be_run(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})
    response = run(api, world.routine)
    assert (response.status, response.error) == (409, "Routine is archived")
    assert run_count(runtime) == 0


def test_a_paused_routine_can_still_be_run_by_hand(api: Api, drain: Callable) -> None:
    world = make_world(api, status="paused")
    response = run(api, world.routine)
    assert response.status == 202
    drain()
    assert api.ok("GET", f"/api/routine-runs/{response.body['id']}")["status"] == "issue_created"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"unexpected": 1}, ["unexpected"]),
        ({"title": "not a run field"}, ["title"]),
        ({"source": "schedule"}, ["source"]),
        ({"source": "webhook"}, ["source"]),
        ({"payload": [1, 2]}, ["payload"]),
        ({"variables": ["a"]}, ["variables"]),
        ({"idempotencyKey": "k" * 256}, ["idempotencyKey"]),
        ({"triggerId": "not-a-uuid"}, ["triggerId"]),
        ({"assigneeAgentId": 12}, ["assigneeAgentId"]),
    ],
)
def test_a_run_body_outside_its_schema_is_a_validation_error(
    api: Api, runtime: Runtime, body: dict[str, Any], path: list[str]
) -> None:
    world = make_world(api)
    response = run(api, world.routine, body)
    assert (response.status, response.error) == (400, "Validation error")
    assert path in [d["path"] for d in response.body["details"]]
    assert run_count(runtime) == 0


def test_a_run_body_that_is_not_a_json_object_is_a_bad_request(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    for raw in (b"[]", b"{oops", b'"manual"'):
        assert run(api, world.routine, raw).status == 400
    assert run_count(runtime) == 0


def test_an_idempotency_key_of_255_characters_is_accepted(api: Api) -> None:
    world = make_world(api)
    response = run(api, world.routine, {"idempotencyKey": "k" * 255})
    assert response.status == 202
    assert response.body["idempotencyKey"] == "k" * 255


def test_a_trigger_of_another_routine_is_forbidden(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    sibling = make_routine(api, world.company, world.agent, title="Sibling")
    foreign = add_trigger(api, sibling)
    response = run(api, world.routine, {"source": "api", "triggerId": foreign["id"]})
    assert (response.status, response.error) == (403, "Trigger does not belong to routine")
    assert run_count(runtime) == 0


def test_a_trigger_of_another_company_is_not_found(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    elsewhere = make_world(api)
    foreign = add_trigger(api, elsewhere.routine)
    response = run(api, world.routine, {"source": "api", "triggerId": foreign["id"]})
    assert (response.status, response.error) == (404, "Routine trigger not found")
    assert run_count(runtime) == 0


def test_an_unknown_trigger_is_not_found(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    response = run(api, world.routine, {"source": "api", "triggerId": str(uuid.uuid4())})
    assert (response.status, response.error) == (404, "Routine trigger not found")
    assert run_count(runtime) == 0


def test_a_trigger_created_disabled_cannot_be_fired(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    trigger = add_trigger(api, world.routine, enabled=False)
    assert trigger["enabled"] is False
    response = run(api, world.routine, {"source": "api", "triggerId": trigger["id"]})
    assert (response.status, response.error) == (409, "Routine trigger is not active")
    assert run_count(runtime) == 0


def test_a_trigger_disabled_later_cannot_be_fired(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    trigger = add_trigger(api, world.routine)
    assert run(api, world.routine, {"source": "api", "triggerId": trigger["id"]}).status == 202
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE routine_triggers SET enabled = false WHERE id = :id"),
            {"id": trigger["id"]},
        )
    response = run(api, world.routine, {"source": "api", "triggerId": trigger["id"]})
    assert (response.status, response.error) == (409, "Routine trigger is not active")
    assert run_count(runtime) == 1


def test_a_run_with_no_assignee_anywhere_is_unprocessable(api: Api, runtime: Runtime) -> None:
    routine = make_routine(api, make_company(api), None)
    response = run(api, routine)
    assert (response.status, response.error) == (422, "Default agent required")
    assert run_count(runtime) == 0


def test_an_assignee_override_runs_a_routine_that_has_none(api: Api, drain: Callable) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    routine = make_routine(api, company, None)
    fired = fire(api, routine, assigneeAgentId=agent["id"])
    drain()
    issue_id = api.ok("GET", f"/api/routine-runs/{fired['id']}")["linkedIssueId"]
    assert api.ok("GET", f"/api/issues/{issue_id}")["assigneeAgentId"] == agent["id"]


def test_overrides_for_one_run_land_on_its_issue(api: Api, drain: Callable) -> None:
    world = make_world(api)
    stand_in = make_agent(api, world.company, name="Stand-in")
    side_project = make_project(api, world.company, name="Side")
    fired = fire(api, world.routine, assigneeAgentId=stand_in["id"], projectId=side_project["id"])
    drain()
    issue_id = api.ok("GET", f"/api/routine-runs/{fired['id']}")["linkedIssueId"]
    issue = api.ok("GET", f"/api/issues/{issue_id}")
    assert (issue["assigneeAgentId"], issue["projectId"]) == (stand_in["id"], side_project["id"])
    routine = api.ok("GET", f"/api/routines/{world.routine['id']}")
    assert (routine["assigneeAgentId"], routine["projectId"]) == (
        world.agent["id"],
        world.project["id"],
    )


def test_execution_workspace_fields_are_stored_on_the_issue(api: Api, drain: Callable) -> None:
    world = make_world(api)
    fired = fire(
        api,
        world.routine,
        executionWorkspaceId="ws-7",
        executionWorkspacePreference="reuse",
        executionWorkspaceSettings={"branch": "main"},
    )
    drain()
    issue_id = api.ok("GET", f"/api/routine-runs/{fired['id']}")["linkedIssueId"]
    issue = api.ok("GET", f"/api/issues/{issue_id}")
    assert issue["executionWorkspaceId"] == "ws-7"
    assert issue["executionWorkspacePreference"] == "reuse"
    assert issue["executionWorkspaceSettings"] == {"branch": "main"}


@pytest.mark.parametrize(
    ("override", "status", "message"),
    [
        ("missing-project", 404, "Project not found"),
        ("foreign-project", 422, "Project must belong to same company"),
        ("missing-agent", 404, "Assignee agent not found"),
        ("foreign-agent", 422, "Assignee must belong to same company"),
        ("terminated-agent", 409, "Cannot assign routines to terminated agents"),
        ("pending-agent", 409, "Cannot assign routines to pending approval agents"),
    ],
)
def test_run_overrides_follow_the_routine_reference_rules(
    api: Api, runtime: Runtime, override: str, status: int, message: str
) -> None:
    world = make_world(api)
    other = make_company(api, "Other")
    bodies = {
        "missing-project": lambda: {"projectId": str(uuid.uuid4())},
        "foreign-project": lambda: {"projectId": make_project(api, other)["id"]},
        "missing-agent": lambda: {"assigneeAgentId": str(uuid.uuid4())},
        "foreign-agent": lambda: {"assigneeAgentId": make_agent(api, other)["id"]},
        "terminated-agent": lambda: {
            "assigneeAgentId": make_agent(api, world.company, status="terminated")["id"]
        },
        "pending-agent": lambda: {
            "assigneeAgentId": make_agent(api, world.company, status="pending_approval")["id"]
        },
    }
    response = run(api, world.routine, bodies[override]())
    assert (response.status, response.error) == (status, message)
    assert run_count(runtime) == 0


# Idempotency (API.md 5.2)


def test_the_same_idempotency_key_twice_answers_with_the_first_run(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    first = run(api, world.routine, {"idempotencyKey": "deploy-42"})
    second = run(api, world.routine, {"idempotencyKey": "deploy-42"})
    assert (first.status, second.status) == (202, 202)
    assert second.body["id"] == first.body["id"]
    assert second.body["idempotencyKey"] == "deploy-42"
    assert run_count(runtime) == 1


def test_a_repeated_key_answers_with_the_first_run_whatever_its_status(
    api: Api, runtime: Runtime, drain: Callable
) -> None:
    world = make_world(api)
    first = fire(api, world.routine, idempotencyKey="once", payload={"n": 1})
    drain()
    again = fire(api, world.routine, idempotencyKey="once", payload={"n": 2})
    assert again["id"] == first["id"]
    assert again["status"] == "issue_created"
    assert again["triggerPayload"] == {"n": 1}
    drain()
    assert run_count(runtime) == 1
    issues = api.ok("GET", f"/api/companies/{world.company['id']}/issues")
    assert len(issues) == 1


def test_different_keys_record_different_runs(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    a = fire(api, world.routine, idempotencyKey="a")
    b = fire(api, world.routine, idempotencyKey="b")
    assert a["id"] != b["id"]
    assert run_count(runtime) == 2


def test_runs_without_a_key_are_never_merged(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    ids = {fire(api, world.routine)["id"] for _ in range(3)}
    ids.add(fire(api, world.routine, idempotencyKey="")["id"])
    assert len(ids) == 4
    assert run_count(runtime) == 4


def test_the_same_key_is_scoped_by_routine_source_and_trigger(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    sibling = make_routine(api, world.company, world.agent, title="Sibling")
    first, second = add_trigger(api, world.routine)["id"], add_trigger(api, world.routine)["id"]
    scopes: list[tuple[dict[str, Any], dict[str, Any]]] = [
        (world.routine, {}),
        (world.routine, {"source": "api"}),
        (world.routine, {"source": "api", "triggerId": first}),
        (world.routine, {"source": "api", "triggerId": second}),
        (sibling, {}),
    ]
    ids = [fire(api, routine, idempotencyKey="k", **scope)["id"] for routine, scope in scopes]
    assert len(set(ids)) == 5
    again = [fire(api, routine, idempotencyKey="k", **scope)["id"] for routine, scope in scopes]
    assert again == ids
    assert run_count(runtime) == 5


def test_runs_are_listed_newest_first_with_a_clamped_limit(api: Api) -> None:
    world = make_world(api)
    fired = [fire(api, world.routine)["id"] for _ in range(4)]
    path = f"/api/routines/{world.routine['id']}/runs"
    assert [r["id"] for r in api.ok("GET", path)] == fired[::-1]
    assert [r["id"] for r in api.ok("GET", f"{path}?limit=2")] == fired[::-1][:2]
    assert len(api.ok("GET", f"{path}?limit=0")) == 1
    assert len(api.ok("GET", f"{path}?limit=-5")) == 1
    assert len(api.ok("GET", f"{path}?limit=many")) == 4
    assert len(api.ok("GET", f"{path}?limit=9999")) == 4
