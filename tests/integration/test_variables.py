"""Routine variables and templates (API.md 3.2): definitions checked at create and PATCH,
values resolved at each firing, rendered into the execution issue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from devstack.api import Api, Response, World, make_world
from shared.platform.runtime import Runtime

Defs = list[dict[str, Any]]


def run_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM routine_runs")).scalar_one())


def create(api: Api, world: World, **fields: Any) -> Response:
    body = {"title": "Report", "assigneeAgentId": world.agent["id"], **fields}
    return api.post(f"/api/companies/{world.company['id']}/routines", body)


def routine_with(api: Api, title: str, variables: Defs | None = None, **fields: Any) -> World:
    return make_world(api, title=title, variables=variables or [], **fields)


def run(api: Api, routine: dict[str, Any], **body: Any) -> Response:
    return api.post(f"/api/routines/{routine['id']}/run", body)


def rendered_title(api: Api, drain: Callable[[], None], run_id: str) -> str:
    drain()
    decided = api.ok("GET", f"/api/routine-runs/{run_id}")
    assert decided["status"] == "issue_created", decided
    return str(decided["linkedIssue"]["title"])


def add_trigger(api: Api, routine: dict[str, Any], **body: Any) -> Response:
    return api.post(f"/api/routines/{routine['id']}/triggers", body)


def names(variables: Defs) -> list[str]:
    return [v["name"] for v in variables]


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


# Values at a manual firing


def test_request_variables_beat_payload_variables_beat_defaults(api: Api, drain: Callable) -> None:
    variables = [
        {"name": "a", "defaultValue": "default-a"},
        {"name": "b", "defaultValue": "default-b"},
        {"name": "c", "defaultValue": "default-c"},
    ]
    world = routine_with(api, "{{a}}/{{b}}/{{c}}", variables)
    fired = run(
        api,
        world.routine,
        variables={"a": "request-a"},
        payload={"variables": {"a": "payload-a", "b": "payload-b"}, "c": "top-level-c"},
    )
    assert fired.status == 202
    assert rendered_title(api, drain, fired.body["id"]) == "request-a/payload-b/default-c"


def test_an_empty_request_value_falls_through_to_the_next_layer(api: Api, drain: Callable) -> None:
    world = routine_with(api, "{{a}}", [{"name": "a", "defaultValue": "fallback"}])
    fired = run(api, world.routine, variables={"a": "  "}, payload={"variables": {"a": None}})
    assert rendered_title(api, drain, fired.body["id"]) == "fallback"


def test_defaults_alone_render_the_title(api: Api, drain: Callable) -> None:
    variables = [
        {"name": "who", "defaultValue": "ops"},
        {"name": "n", "type": "number", "defaultValue": 2},
        {"name": "loud", "type": "boolean", "defaultValue": False},
    ]
    world = routine_with(api, "{{who}} x{{n}} {{loud}}", variables)
    fired = run(api, world.routine)
    assert rendered_title(api, drain, fired.body["id"]) == "ops x2 false"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (True, "true"),
        (False, "false"),
        ("true", "true"),
        ("false", "false"),
        ("1", "true"),
        ("0", "false"),
        (1, "true"),
        (0, "false"),
        ("yes", "true"),
        ("no", "false"),
        ("on", "true"),
        ("off", "false"),
        ("YES", "true"),
        (" Off ", "false"),
    ],
)
def test_booleans_accept_the_usual_spellings(
    api: Api, drain: Callable, raw: Any, shown: str
) -> None:
    world = routine_with(api, "loud={{ loud }}", [{"name": "loud", "type": "boolean"}])
    fired = run(api, world.routine, variables={"loud": raw})
    assert fired.status == 202, fired.body
    assert rendered_title(api, drain, fired.body["id"]) == f"loud={shown}"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [(42, "42"), ("42", "42"), (" 7 ", "7"), ("3.5", "3.5"), (-1.25, "-1.25"), ("-0", "0")],
)
def test_numbers_accept_numeric_strings(api: Api, drain: Callable, raw: Any, shown: str) -> None:
    world = routine_with(api, "n={{ n }}", [{"name": "n", "type": "number"}])
    fired = run(api, world.routine, variables={"n": raw})
    assert fired.status == 202, fired.body
    assert rendered_title(api, drain, fired.body["id"]) == f"n={shown}"


def test_a_long_value_renders_a_title_cut_to_the_issue_limit(api: Api, drain: Callable) -> None:
    world = routine_with(api, "Note: {{ text }}", [{"name": "text"}])
    fired = run(api, world.routine, variables={"text": "x" * 2000})
    assert fired.status == 202
    assert rendered_title(api, drain, fired.body["id"]) == ("Note: " + "x" * 2000)[:500]


def test_dates_and_selects_that_match_are_accepted(api: Api, drain: Callable) -> None:
    variables = [
        {"name": "due", "type": "date"},
        {"name": "size", "type": "select", "options": ["s", "m"], "defaultValue": "s"},
    ]
    world = routine_with(api, "{{due}} {{size}}", variables)
    fired = run(api, world.routine, variables={"due": "2028-02-29", "size": "m"})
    assert rendered_title(api, drain, fired.body["id"]) == "2028-02-29 m"


COERCION_FAILURES = [
    ("boolean", {}, "maybe"),
    ("boolean", {}, "2"),
    ("boolean", {}, 2),
    ("number", {}, "abc"),
    ("number", {}, "12abc"),
    ("number", {}, "NaN"),
    ("number", {}, "Infinity"),
    ("number", {}, True),
    ("date", {}, "2026-02-30"),
    ("date", {}, "2026-1-5"),
    ("date", {}, "05/01/2026"),
    ("date", {}, "2026-01-05T00:00:00Z"),
    ("date", {}, 20260105),
    ("select", {"options": ["s", "m"], "defaultValue": "s"}, "xl"),
    ("select", {"options": ["s", "m"], "defaultValue": "s"}, "S"),
    ("select", {"options": ["1", "2"], "defaultValue": "1"}, 1),
]


@pytest.mark.parametrize(("kind", "extra", "raw"), COERCION_FAILURES)
def test_a_value_of_the_wrong_type_is_422_and_nothing_is_recorded(
    api: Api, runtime: Runtime, kind: str, extra: dict[str, Any], raw: Any
) -> None:
    world = routine_with(api, "{{ v }}", [{"name": "v", "type": kind, "required": False, **extra}])
    response = run(api, world.routine, variables={"v": raw})
    assert (response.status, response.error) == (422, f'Variable "v" must be a {kind}')
    assert run_count(runtime) == 0


def test_a_payload_value_is_coerced_like_a_request_value(api: Api, runtime: Runtime) -> None:
    world = routine_with(api, "{{ n }}", [{"name": "n", "type": "number"}])
    response = run(api, world.routine, payload={"variables": {"n": "many"}})
    assert (response.status, response.error) == (422, 'Variable "n" must be a number')
    assert run_count(runtime) == 0


@pytest.mark.parametrize("raw", ["1_000", "\u0661\u0662"])
def test_python_only_number_spellings_are_not_numbers(api: Api, runtime: Runtime, raw: str) -> None:
    world = routine_with(api, "{{ n }}", [{"name": "n", "type": "number"}])
    response = run(api, world.routine, variables={"n": raw})
    assert (response.status, response.error) == (422, 'Variable "n" must be a number')


def test_missing_required_variables_are_named_and_nothing_is_recorded(
    api: Api, runtime: Runtime
) -> None:
    variables = [{"name": "a"}, {"name": "opt", "required": False}, {"name": "b"}]
    world = routine_with(api, "{{a}} {{b}} {{opt}}", variables)
    for body in ({}, {"variables": {"a": ""}}, {"variables": {"a": None, "b": " "}}):
        response = run(api, world.routine, **body)
        assert (response.status, response.error) == (422, "Missing routine variables: a, b")
    response = run(api, world.routine, variables={"a": "x"})
    assert (response.status, response.error) == (422, "Missing routine variables: b")
    assert run_count(runtime) == 0
    assert api.ok("GET", f"/api/routines/{world.routine['id']}/runs") == []


def test_an_optional_variable_without_a_value_does_not_block_the_run(
    api: Api, drain: Callable
) -> None:
    world = routine_with(api, "Ping {{ who }}", [{"name": "who", "required": False}])
    fired = run(api, world.routine)
    assert fired.status == 202
    assert rendered_title(api, drain, fired.body["id"]).startswith("Ping")


def test_variable_values_must_be_scalars(api: Api, runtime: Runtime) -> None:
    world = routine_with(api, "{{ who }}", [{"name": "who", "defaultValue": "x"}])
    response = run(api, world.routine, variables={"who": {"nested": True}})
    assert response.status == 400
    assert response.body["details"][0]["path"] == ["variables", "who"]
    assert run_count(runtime) == 0


# Values at a webhook firing


def webhook(api: Api, routine: dict[str, Any]) -> str:
    created = add_trigger(api, routine, kind="webhook", signingMode="none")
    assert created.status == 201, created.body
    url = created.body["secretMaterial"]["webhookUrl"]
    return "/api/" + url.split("/api/", 1)[1]


def test_webhook_body_keys_feed_variables_below_payload_variables(
    api: Api, drain: Callable
) -> None:
    variables = [
        {"name": "a", "defaultValue": "default-a"},
        {"name": "b", "defaultValue": "default-b"},
        {"name": "c", "defaultValue": "default-c"},
    ]
    world = routine_with(api, "{{a}}/{{b}}/{{c}}", variables)
    url = webhook(api, world.routine)
    body = {"variables": {"a": "payload-a"}, "a": "top-a", "b": "top-b"}
    fired = api.as_(None).call("POST", url, json.dumps(body).encode())
    assert fired.status == 202, fired.body
    assert fired.body["triggerPayload"] == body
    assert rendered_title(api, drain, fired.body["id"]) == "payload-a/top-b/default-c"


def test_a_webhook_missing_a_required_variable_is_422_and_records_nothing(
    api: Api, runtime: Runtime
) -> None:
    world = routine_with(api, "{{ account }} {{ amount }}", [{"name": "amount", "type": "number"}])
    url = webhook(api, world.routine)
    response = api.as_(None).call("POST", url, b'{"amount": "12"}')
    assert (response.status, response.error) == (422, "Missing routine variables: account")
    response = api.as_(None).call("POST", url, b'{"account": "x", "amount": "lots"}')
    assert (response.status, response.error) == (422, 'Variable "amount" must be a number')
    assert run_count(runtime) == 0


# Schedules need defaults

SCHEDULE = {"kind": "schedule", "cronExpression": "0 9 * * *"}


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
