"""A routine's status and its changes (API.md 3): active needs an assignee, archived is
final, and a PATCH changes only what it names."""

from __future__ import annotations

import pytest

from devstack.api import Api, make_agent, make_company, make_routine, make_world
from tests.support.routines import patch, stored


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
