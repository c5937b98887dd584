"""A schedule fires without values (API.md 3.2): its routine's required variables need
defaults, whether the schedule or the variable comes first."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.api import Api
from tests.support.variables import SCHEDULE, add_trigger, names, routine_with

# Schedules need defaults


def test_a_schedule_trigger_needs_defaults_for_required_variables(api: Api) -> None:
    variables = [{"name": "a"}, {"name": "b", "defaultValue": "x"}, {"name": "c"}]
    world = routine_with(api, "{{a}}{{b}}{{c}}", variables)
    response = add_trigger(api, world.routine, **SCHEDULE)
    assert response.status == 422
    assert response.error == "Scheduled routines require defaults for required variables: a, c"
    assert api.ok("GET", f"/api/routines/{world.routine['id']}")["triggers"] == []


def test_a_schedule_trigger_is_fine_when_only_optional_variables_lack_defaults(api: Api) -> None:
    variables = [{"name": "a", "defaultValue": "x"}, {"name": "b", "required": False}]
    world = routine_with(api, "{{a}}{{b}}", variables)
    assert add_trigger(api, world.routine, **SCHEDULE).status == 201


def test_a_disabled_schedule_cannot_be_enabled_without_defaults(api: Api) -> None:
    world = routine_with(api, "For {{ team }}")
    created = add_trigger(api, world.routine, **SCHEDULE, enabled=False)
    assert created.status == 201
    trigger_path = f"/api/routine-triggers/{created.body['trigger']['id']}"
    response = api.patch(trigger_path, {"enabled": True})
    assert response.status == 422
    assert response.error == "Scheduled routines require defaults for required variables: team"
    assert api.ok("GET", f"/api/routines/{world.routine['id']}")["triggers"][0]["enabled"] is False
    defaults = {"variables": [{"name": "team", "defaultValue": "ops"}]}
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", defaults)
    assert api.ok("PATCH", trigger_path, {"enabled": True})["enabled"] is True


@pytest.mark.parametrize(
    "patch",
    [
        {"variables": [{"name": "region"}]},
        {"title": "Check {{ region }}"},
        {"description": "In {{ region }}"},
    ],
    ids=["definition", "title placeholder", "description placeholder"],
)
def test_a_required_variable_without_default_cannot_join_a_scheduled_routine(
    api: Api, patch: dict[str, Any]
) -> None:
    world = routine_with(api, "Check")
    assert add_trigger(api, world.routine, **SCHEDULE).status == 201
    path = f"/api/routines/{world.routine['id']}"
    before = api.ok("GET", path)
    response = api.patch(path, patch)
    assert response.status == 422
    assert response.error == "Scheduled routines require defaults for required variables: region"
    after = api.ok("GET", path)
    assert (after["title"], after["description"], after["variables"]) == (
        before["title"],
        before["description"],
        before["variables"],
    )


def test_a_required_variable_may_join_a_routine_whose_schedule_is_disabled(api: Api) -> None:
    world = routine_with(api, "Check")
    assert add_trigger(api, world.routine, **SCHEDULE, enabled=False).status == 201
    patched = api.patch(f"/api/routines/{world.routine['id']}", {"title": "Check {{ region }}"})
    assert patched.status == 200
    assert names(patched.body["variables"]) == ["region"]


def test_a_required_variable_with_a_default_may_join_a_scheduled_routine(api: Api) -> None:
    world = routine_with(api, "Check")
    assert add_trigger(api, world.routine, **SCHEDULE).status == 201
    patched = api.patch(
        f"/api/routines/{world.routine['id']}",
        {"title": "Check {{ region }}", "variables": [{"name": "region", "defaultValue": "eu"}]},
    )
    assert patched.status == 200
    assert patched.body["variables"][0]["defaultValue"] == "eu"


def test_an_unknown_routine_is_404_before_its_variables_are_looked_at(api: Api) -> None:
    response = api.patch(f"/api/routines/{uuid.uuid4()}", {"variables": [{"name": "ok"}]})
    assert (response.status, response.error) == (404, "Routine not found")
