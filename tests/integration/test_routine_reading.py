"""Reading routines (API.md 3): the list's order and filter, and what the list and the
detail show of triggers, runs and the active issue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text

from devstack.api import Api, fire, make_company, make_project, make_routine, make_world
from shared.platform.runtime import Runtime
from tests.support.routines import ROUTINE_FIELDS, listed


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
