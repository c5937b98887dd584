"""Routine variable definitions (API.md 3.2): checked at create and PATCH, made for each
placeholder of the template and dropped with it unless a client wrote them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from devstack.api import Api, make_world
from shared.platform.runtime import Runtime
from tests.support.variables import (
    SCHEDULE,
    Defs,
    add_trigger,
    create,
    names,
    rendered_title,
    routine_with,
    run,
)

# Definitions are checked when a routine is created or changed

BAD_DEFINITIONS = {
    "name starting with a digit": {"name": "1st"},
    "name with a dash": {"name": "due-date"},
    "empty name": {"name": ""},
    "name not a string": {"name": 7},
    "missing name": {"type": "text"},
    "unknown type": {"name": "colour", "type": "color"},
    "select without options": {"name": "size", "type": "select", "defaultValue": "s"},
    "select with no options": {"name": "size", "type": "select", "options": []},
    "select default outside its options": {
        "name": "size",
        "type": "select",
        "options": ["s", "m"],
        "defaultValue": "xl",
    },
    "select without a default": {"name": "size", "type": "select", "options": ["s", "m"]},
    "select with 51 options": {
        "name": "size",
        "type": "select",
        "options": [f"o{i}" for i in range(51)],
        "defaultValue": "o0",
    },
    "date default not a date": {"name": "due", "type": "date", "defaultValue": "tomorrow"},
    "date default in another format": {"name": "due", "type": "date", "defaultValue": "23/11/2026"},
    "date default that does not exist": {
        "name": "due",
        "type": "date",
        "defaultValue": "2026-02-30",
    },
    "required not a boolean": {"name": "who", "required": "yes"},
    "definition not an object": "who",
}


@pytest.mark.parametrize("definition", BAD_DEFINITIONS.values(), ids=BAD_DEFINITIONS.keys())
def test_a_bad_variable_definition_is_refused_at_create_with_details(
    api: Api, runtime: Runtime, definition: Any
) -> None:
    world = make_world(api)
    response = create(api, world, title="Bad", variables=[definition])
    assert response.status == 400
    assert response.error == "Validation error"
    assert response.body["details"]
    assert all(d["path"][0] == "variables" for d in response.body["details"])
    assert all(isinstance(d["message"], str) and d["message"] for d in response.body["details"])
    assert len(api.ok("GET", f"/api/companies/{world.company['id']}/routines")) == 1


@pytest.mark.parametrize("definition", BAD_DEFINITIONS.values(), ids=BAD_DEFINITIONS.keys())
def test_a_bad_variable_definition_is_refused_at_patch_and_nothing_changes(
    api: Api, definition: Any
) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}"
    response = api.patch(path, {"variables": [{"name": "ok"}, definition]})
    assert (response.status, response.error) == (400, "Validation error")
    assert response.body["details"][0]["path"][0] == "variables"
    assert api.ok("GET", path)["variables"] == []


def test_duplicate_variable_names_are_refused(api: Api) -> None:
    world = make_world(api)
    response = create(api, world, variables=[{"name": "who"}, {"name": "who", "type": "number"}])
    assert (response.status, response.error) == (400, "Validation error")


def test_good_definitions_are_stored_with_their_defaults_filled_in(api: Api) -> None:
    world = make_world(api)
    options = [f"o{i}" for i in range(50)]
    variables = [
        {"name": "who", "label": "Who"},
        {"name": "size", "type": "select", "options": options, "defaultValue": "o49"},
        {"name": "due", "type": "date", "defaultValue": "2026-02-28", "required": False},
        {"name": "count_2", "type": "number", "defaultValue": "3"},
        {"name": "loud", "type": "boolean", "defaultValue": "yes"},
        {"name": "notes", "type": "textarea"},
    ]
    response = create(api, world, variables=variables)
    assert response.status == 201
    stored = {v["name"]: v for v in response.body["variables"]}
    assert names(response.body["variables"]) == ["who", "size", "due", "count_2", "loud", "notes"]
    assert stored["who"] == {"name": "who", "label": "Who", "type": "text", "required": True}
    assert stored["size"]["options"] == options
    assert stored["size"]["defaultValue"] == "o49"
    assert (stored["due"]["required"], stored["due"]["defaultValue"]) == (False, "2026-02-28")
    assert stored["count_2"]["defaultValue"] == 3
    assert stored["loud"]["defaultValue"] is True
    assert stored["notes"]["type"] == "textarea"


# Placeholders and built-ins


def test_a_placeholder_without_a_definition_gets_one(api: Api) -> None:
    world = make_world(api)
    response = create(
        api,
        world,
        title="Invoice for {{customer}} due {{ dueDate }}",
        description="Ask {{  owner  }} about {{customer}} before {{ dueDate}}",
    )
    assert response.status == 201
    assert [
        {k: v[k] for k in ("name", "type", "required")} for v in response.body["variables"]
    ] == [
        {"name": "customer", "type": "text", "required": True},
        {"name": "dueDate", "type": "date", "required": True},
        {"name": "owner", "type": "text", "required": True},
    ]


def test_a_placeholder_with_a_definition_keeps_it(api: Api) -> None:
    world = make_world(api)
    defined = {"name": "dueDate", "type": "text", "defaultValue": "soon", "required": False}
    response = create(api, world, title="Due {{ dueDate }}", variables=[defined])
    assert response.status == 201
    assert response.body["variables"] == [{**defined, "label": None}]


def test_a_placeholder_added_by_patch_gets_a_definition(api: Api) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}"
    patched = api.ok("PATCH", path, {"description": "Check {{ region }}"})
    assert names(patched["variables"]) == ["region"]
    assert patched["variables"][0]["type"] == "text"


def test_built_in_placeholders_are_never_stored_as_definitions(api: Api, drain: Callable) -> None:
    world = make_world(api)
    title = "On {{ date }} at {{timestamp}} for {{ scheduledFor }}"
    response = create(api, world, title=title, description="{{date}}")
    assert response.status == 201
    assert response.body["variables"] == []
    fired = run(api, response.body)
    assert fired.status == 202
    rendered = rendered_title(api, drain, fired.body["id"])
    day = fired.body["triggeredAt"][:10]
    assert rendered == f"On {day} at {fired.body['triggeredAt']} for {fired.body['triggeredAt']}"


@pytest.mark.parametrize("builtin", ["date", "timestamp", "scheduledFor"])
def test_an_explicit_definition_of_a_built_in_is_not_stored(api: Api, builtin: str) -> None:
    world = make_world(api)
    response = create(api, world, title=f"{{{{ {builtin} }}}}", variables=[{"name": builtin}])
    assert response.status in (201, 400)
    if response.status == 201:
        assert response.body["variables"] == []
        assert run(api, response.body).status == 202


# Automatic definitions follow the template

SHAPE = {"name", "label", "type", "defaultValue", "required", "options"}
AUTOMATIC_NAME = {"name": "name", "label": None, "type": "text", "required": True}


def patch(api: Api, routine: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return api.ok("PATCH", f"/api/routines/{routine['id']}", body)  # type: ignore[no-any-return]


def stored_variables(runtime: Runtime, routine: dict[str, Any]) -> Defs:
    with runtime.engine.connect() as connection:
        query = text("SELECT variables FROM routines WHERE id = :id")
        return list(connection.execute(query, {"id": routine["id"]}).scalar_one())


def test_an_automatic_definition_goes_when_its_placeholder_leaves_the_title(api: Api) -> None:
    world = routine_with(api, "Hello {{name}}")
    assert world.routine["variables"] == [AUTOMATIC_NAME]
    patched = patch(api, world.routine, {"title": "Hello world"})
    assert patched["variables"] == []
    assert run(api, world.routine).status == 202


def test_an_automatic_definition_stays_while_the_description_still_uses_it(api: Api) -> None:
    world = routine_with(api, "Hello {{name}}", description="For {{ name }}")
    assert names(patch(api, world.routine, {"title": "Hello world"})["variables"]) == ["name"]
    assert patch(api, world.routine, {"description": None})["variables"] == []


def test_an_explicit_definition_stays_when_its_placeholder_goes(api: Api) -> None:
    world = routine_with(api, "Hello {{name}} from {{team}}", [{"name": "name"}])
    assert names(world.routine["variables"]) == ["name", "team"]
    patched = patch(api, world.routine, {"title": "Hello world"})
    assert patched["variables"] == [AUTOMATIC_NAME]
    response = run(api, world.routine)
    assert (response.status, response.error) == (422, "Missing routine variables: name")


SENT_BACK = {
    "as read": {},
    "with a null default": {"defaultValue": None},
    "with an empty default": {"defaultValue": ""},
}


@pytest.mark.parametrize("extra", SENT_BACK.values(), ids=SENT_BACK.keys())
def test_definitions_sent_back_as_read_stay_automatic(api: Api, extra: dict[str, Any]) -> None:
    world = routine_with(api, "Hello {{name}}")
    path = f"/api/routines/{world.routine['id']}"
    read = api.ok("GET", path)
    variables = [{**v, **extra} for v in read["variables"]]
    assert patch(api, world.routine, {"variables": variables})["variables"] == [AUTOMATIC_NAME]
    read = api.ok("GET", path)
    variables = [{**v, **extra} for v in read["variables"]]
    patched = patch(api, world.routine, {"title": "Hello world", "variables": variables})
    assert patched["variables"] == []


EDITS = {
    "a default": {"defaultValue": "you"},
    "a label": {"label": "Name"},
    "a type": {"type": "textarea"},
    "not required": {"required": False},
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_an_edited_automatic_definition_becomes_explicit(api: Api, edit: dict[str, Any]) -> None:
    world = routine_with(api, "Hello {{name}} from {{team}}")
    edited = {**AUTOMATIC_NAME, **edit}
    team = world.routine["variables"][1]
    assert patch(api, world.routine, {"variables": [edited, team]})["variables"] == [edited, team]
    assert patch(api, world.routine, {"title": "Hello world"})["variables"] == [edited]


def test_an_edited_definition_stays_explicit_when_edited_back(api: Api) -> None:
    world = routine_with(api, "Hello {{name}} from {{team}}")
    team = world.routine["variables"][1]
    patch(api, world.routine, {"variables": [{**AUTOMATIC_NAME, "label": "Name"}, team]})
    patch(api, world.routine, {"variables": [AUTOMATIC_NAME, team]})
    assert patch(api, world.routine, {"title": "Hello world"})["variables"] == [AUTOMATIC_NAME]


def test_the_automatic_mark_is_stored_but_never_shown(api: Api, runtime: Runtime) -> None:
    world = routine_with(api, "{{ customer }} by {{ dueDate }}", [{"name": "customer"}])
    assert [d.get("automatic") for d in stored_variables(runtime, world.routine)] == [None, True]
    path = f"/api/routines/{world.routine['id']}"
    listed = api.ok("GET", f"/api/companies/{world.company['id']}/routines")
    shown = [
        world.routine["variables"],
        api.ok("GET", path)["variables"],
        listed[0]["variables"],
        patch(api, world.routine, {"description": "{{ note }}"})["variables"],
    ]
    for variables in shown:
        assert names(variables) in (["customer", "dueDate"], ["customer", "dueDate", "note"])
        assert all(set(v) <= SHAPE for v in variables), variables


def test_a_client_cannot_mark_its_definition_automatic(api: Api, runtime: Runtime) -> None:
    marked = {"name": "name", "automatic": True}
    world = routine_with(api, "Hello {{name}} from {{team}}", [marked])
    assert world.routine["variables"][0] == AUTOMATIC_NAME
    assert "automatic" not in stored_variables(runtime, world.routine)[0]
    patch(api, world.routine, {"variables": [{**AUTOMATIC_NAME, "automatic": True}]})
    patched = patch(api, world.routine, {"title": "Hello world"})
    assert patched["variables"] == [AUTOMATIC_NAME]


def test_definitions_stored_without_a_mark_are_kept_as_explicit(api: Api, runtime: Runtime) -> None:
    world = routine_with(api, "Hello {{name}} from {{team}}")
    before_the_mark = stored_variables(runtime, world.routine)
    del before_the_mark[0]["automatic"]
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE routines SET variables = CAST(:v AS jsonb) WHERE id = :id"),
            {"v": json.dumps(before_the_mark), "id": world.routine["id"]},
        )
    patched = patch(api, world.routine, {"title": "Hello world"})
    assert patched["variables"] == [AUTOMATIC_NAME]


def test_a_schedule_may_join_once_an_automatic_definition_has_gone(api: Api) -> None:
    world = routine_with(api, "Check {{ region }}")
    response = add_trigger(api, world.routine, **SCHEDULE)
    assert response.error == "Scheduled routines require defaults for required variables: region"
    patch(api, world.routine, {"title": "Check"})
    assert add_trigger(api, world.routine, **SCHEDULE).status == 201
