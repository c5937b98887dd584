"""Routine variable values (API.md 3.2): resolved at each manual or webhook firing, in
layers, coerced to their type and rendered into the execution issue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from devstack.api import Api
from shared.platform.runtime import Runtime
from tests.support.variables import add_trigger, rendered_title, routine_with, run, run_count

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
