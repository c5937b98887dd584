"""validate(): the one gate every request body passes through."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.contract.errors import Invalid
from shared.contract.schemas import AGENT_CREATE, ROUTINE_CREATE, RUN_CREATE, TRIGGER_CREATE
from shared.contract.validation import Field, Schema, validate


def problems_of(schema: Schema, body: Any, **options: Any) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as caught:
        validate(schema, body, **options)
    assert caught.value.message == "Validation error"
    return list(caught.value.details)


def only_problem(schema: Schema, body: Any) -> dict[str, Any]:
    found = problems_of(schema, body)
    assert len(found) == 1, found
    return found[0]


NAMED = Schema("Named", {"name": Field("string", required=True)})
WITH_DEFAULT = Schema("WithDefault", {"color": Field("string", default="blue")})
STRICT = Schema("Strict", {"name": Field("string")}, strict=True)
LENIENT = Schema("Lenient", {"name": Field("string")})


@pytest.mark.parametrize("body", [[], "text", 3, None, True])
def test_a_body_that_is_not_an_object_is_rejected_as_a_whole(body: Any) -> None:
    with pytest.raises(Invalid) as caught:
        validate(NAMED, body)
    assert caught.value.message == "Request body must be a JSON object"
    assert caught.value.details is None


def test_a_missing_required_key_is_reported_at_its_path() -> None:
    assert problems_of(NAMED, {}) == [{"path": ["name"], "message": "Required"}]


def test_a_missing_key_with_a_default_gets_the_default() -> None:
    assert validate(WITH_DEFAULT, {}) == {"color": "blue"}


def test_a_given_key_wins_over_the_default() -> None:
    assert validate(WITH_DEFAULT, {"color": "red"}) == {"color": "red"}


def test_a_missing_key_without_a_default_is_left_out_of_the_result() -> None:
    assert validate(LENIENT, {}) == {}


def test_partial_validation_ignores_required_keys() -> None:
    assert validate(NAMED, {}, partial=True) == {}


def test_partial_validation_does_not_apply_defaults() -> None:
    assert validate(WITH_DEFAULT, {}, partial=True) == {}


def test_partial_validation_still_checks_the_keys_that_are_given() -> None:
    found = problems_of(NAMED, {"name": 5}, partial=True)
    assert found == [{"path": ["name"], "message": "Expected string, received number"}]


def test_a_strict_schema_rejects_each_unknown_key() -> None:
    found = problems_of(STRICT, {"name": "a", "bogus": 1, "other": 2})
    assert found == [
        {"path": ["bogus"], "message": "Unrecognized key: bogus"},
        {"path": ["other"], "message": "Unrecognized key: other"},
    ]


def test_a_lenient_schema_drops_unknown_keys_silently() -> None:
    assert validate(LENIENT, {"name": "a", "bogus": 1}) == {"name": "a"}


def test_every_problem_is_reported_not_only_the_first() -> None:
    schema = Schema("Two", {"a": Field("string", required=True), "b": Field("integer")})
    found = problems_of(schema, {"b": "x"})
    assert {tuple(p["path"]) for p in found} == {("a",), ("b",)}


def test_null_is_rejected_for_a_field_that_is_not_nullable() -> None:
    problem = only_problem(LENIENT, {"name": None})
    assert problem == {"path": ["name"], "message": "Expected string, received null"}


def test_null_is_kept_for_a_nullable_field() -> None:
    schema = Schema("Nullable", {"note": Field("string", nullable=True)})
    assert validate(schema, {"note": None}) == {"note": None}


# strings


def test_trimmed_strings_lose_surrounding_whitespace() -> None:
    schema = Schema("Trim", {"name": Field("string", trim=True)})
    assert validate(schema, {"name": "  Acme \n"}) == {"name": "Acme"}


def test_untrimmed_strings_keep_their_whitespace() -> None:
    assert validate(LENIENT, {"name": "  Acme "}) == {"name": "  Acme "}


def test_min_length_is_checked_after_trimming() -> None:
    schema = Schema("Trim", {"name": Field("string", trim=True, min_length=1)})
    problem = only_problem(schema, {"name": "   "})
    assert problem["message"] == "String must contain at least 1 character(s)"


def test_a_string_longer_than_max_length_is_rejected() -> None:
    schema = Schema("Short", {"code": Field("string", max_length=3)})
    assert validate(schema, {"code": "abc"}) == {"code": "abc"}
    problem = only_problem(schema, {"code": "abcd"})
    assert problem["message"] == "String must contain at most 3 character(s)"


@pytest.mark.parametrize(
    ("value", "received"),
    [(1, "number"), (1.5, "number"), (True, "boolean"), ([], "array"), ({}, "object")],
)
def test_a_non_string_names_what_it_received(value: Any, received: str) -> None:
    problem = only_problem(LENIENT, {"name": value})
    assert problem["message"] == f"Expected string, received {received}"


# enums


def test_an_enum_value_outside_the_choices_lists_the_options() -> None:
    schema = Schema("Color", {"color": Field("enum", choices=("red", "green"))})
    problem = only_problem(schema, {"color": "blue"})
    assert problem["message"] == "Invalid enum value. Expected 'red' | 'green', received 'blue'"


def test_an_enum_given_a_non_string_names_its_type() -> None:
    schema = Schema("Color", {"color": Field("enum", choices=("red",))})
    problem = only_problem(schema, {"color": 3})
    assert problem["message"] == "Invalid enum value. Expected 'red', received number"


def test_an_enum_value_among_the_choices_is_accepted() -> None:
    schema = Schema("Color", {"color": Field("enum", choices=("red", "green"))})
    assert validate(schema, {"color": "green"}) == {"color": "green"}


# uuids

UUIDS = Schema("Ids", {"id": Field("uuid")})


def test_a_uuid_string_is_parsed_into_a_uuid() -> None:
    raw = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert validate(UUIDS, {"id": raw}) == {"id": uuid.UUID(raw)}


def test_a_malformed_uuid_is_rejected() -> None:
    assert only_problem(UUIDS, {"id": "not-a-uuid"})["message"] == "Invalid uuid"


def test_a_uuid_given_as_a_number_is_rejected_as_not_a_string() -> None:
    assert only_problem(UUIDS, {"id": 12})["message"] == "Expected string, received number"


# numbers

INTEGERS = Schema("Ints", {"n": Field("integer", minimum=1, maximum=10)})
NUMBERS = Schema("Nums", {"x": Field("number", minimum=0.5)})


def test_an_integer_within_bounds_is_accepted() -> None:
    assert validate(INTEGERS, {"n": 10}) == {"n": 10}


def test_a_whole_float_is_accepted_as_an_integer_and_becomes_an_int() -> None:
    result = validate(INTEGERS, {"n": 3.0})
    assert result == {"n": 3}
    assert type(result["n"]) is int


def test_a_fractional_float_is_not_an_integer() -> None:
    assert only_problem(INTEGERS, {"n": 2.5})["message"] == "Expected integer, received float"


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_a_non_finite_float_is_not_an_integer(value: float) -> None:
    assert only_problem(INTEGERS, {"n": value})["message"] == "Expected integer, received float"


@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_not_an_integer(value: bool) -> None:
    assert only_problem(INTEGERS, {"n": value})["message"] == "Expected integer, received boolean"


def test_a_numeric_string_is_not_an_integer() -> None:
    assert only_problem(INTEGERS, {"n": "5"})["message"] == "Expected integer, received string"


def test_an_integer_below_the_minimum_is_rejected() -> None:
    problem = only_problem(INTEGERS, {"n": 0})
    assert problem["message"] == "Number must be greater than or equal to 1"


def test_an_integer_above_the_maximum_is_rejected() -> None:
    problem = only_problem(INTEGERS, {"n": 11})
    assert problem["message"] == "Number must be less than or equal to 10"


def test_a_number_accepts_fractions() -> None:
    assert validate(NUMBERS, {"x": 0.75}) == {"x": 0.75}


def test_a_fractional_minimum_is_written_as_given() -> None:
    problem = only_problem(NUMBERS, {"x": 0.25})
    assert problem["message"] == "Number must be greater than or equal to 0.5"


@pytest.mark.parametrize(
    ("value", "received"), [(True, "boolean"), ("1", "string"), (float("nan"), "number")]
)
def test_a_number_rejects_booleans_strings_and_nan(value: Any, received: str) -> None:
    assert only_problem(NUMBERS, {"x": value})["message"] == f"Expected number, received {received}"


# booleans and objects


@pytest.mark.parametrize(("value", "received"), [(1, "number"), ("true", "string")])
def test_a_boolean_field_takes_only_true_or_false(value: Any, received: str) -> None:
    schema = Schema("Flag", {"on": Field("boolean")})
    assert validate(schema, {"on": False}) == {"on": False}
    assert (
        only_problem(schema, {"on": value})["message"] == f"Expected boolean, received {received}"
    )


def test_an_object_field_rejects_a_list() -> None:
    schema = Schema("Obj", {"data": Field("object")})
    assert validate(schema, {"data": {"a": 1}}) == {"data": {"a": 1}}
    assert only_problem(schema, {"data": [1]})["message"] == "Expected object, received array"


def test_an_any_field_passes_its_value_through() -> None:
    schema = Schema("Any", {"v": Field("any")})
    assert validate(schema, {"v": [1, {"a": None}]}) == {"v": [1, {"a": None}]}


# arrays

TAGS = Schema("Tags", {"tags": Field("array", items=Field("string", trim=True), max_length=2)})


def test_array_items_are_checked_and_coerced() -> None:
    assert validate(TAGS, {"tags": [" a ", "b"]}) == {"tags": ["a", "b"]}


def test_a_bad_array_item_is_reported_with_its_index() -> None:
    problem = only_problem(TAGS, {"tags": ["a", 7]})
    assert problem == {"path": ["tags"], "message": "Item 1: Expected string, received number"}


def test_an_array_longer_than_max_length_is_rejected() -> None:
    problem = only_problem(TAGS, {"tags": ["a", "b", "c"]})
    assert problem["message"] == "Array must contain at most 2 element(s)"


def test_an_array_field_rejects_an_object() -> None:
    assert only_problem(TAGS, {"tags": {}})["message"] == "Expected array, received object"


def test_an_array_without_an_item_spec_keeps_any_items() -> None:
    schema = Schema("Loose", {"xs": Field("array")})
    assert validate(schema, {"xs": [1, "a", None]}) == {"xs": [1, "a", None]}


def test_array_items_of_uuids_are_parsed() -> None:
    schema = Schema("Ids", {"ids": Field("array", items=Field("uuid"))})
    raw = str(uuid.uuid4())
    assert validate(schema, {"ids": [raw]}) == {"ids": [uuid.UUID(raw)]}


# the real schemas


def test_routine_create_fills_every_default() -> None:
    assert validate(ROUTINE_CREATE, {"title": "  Daily check  "}) == {
        "title": "Daily check",
        "description": None,
        "assigneeAgentId": None,
        "projectId": None,
        "goalId": None,
        "parentIssueId": None,
        "priority": "medium",
        "status": "active",
        "concurrencyPolicy": "coalesce_if_active",
        "catchUpPolicy": "skip_missed",
        "variables": [],
    }


def test_routine_create_requires_a_title() -> None:
    assert problems_of(ROUTINE_CREATE, {}) == [{"path": ["title"], "message": "Required"}]


def test_routine_create_is_lenient_about_unknown_keys() -> None:
    assert "bogus" not in validate(ROUTINE_CREATE, {"title": "T", "bogus": 1})


def test_routine_create_rejects_an_unknown_concurrency_policy() -> None:
    problem = only_problem(ROUTINE_CREATE, {"title": "T", "concurrencyPolicy": "sometimes"})
    assert problem["path"] == ["concurrencyPolicy"]
    assert problem["message"] == (
        "Invalid enum value. Expected 'coalesce_if_active' | 'skip_if_active' | "
        "'always_enqueue', received 'sometimes'"
    )


def test_routine_variables_must_be_objects() -> None:
    problem = only_problem(ROUTINE_CREATE, {"title": "T", "variables": [{"name": "a"}, "b"]})
    assert problem == {
        "path": ["variables"],
        "message": "Item 1: Expected object, received string",
    }


def test_a_partial_routine_patch_keeps_only_what_was_sent() -> None:
    assert validate(ROUTINE_CREATE, {"status": "paused"}, partial=True) == {"status": "paused"}


def test_run_create_is_strict() -> None:
    assert RUN_CREATE.strict
    found = problems_of(RUN_CREATE, {"source": "api", "surprise": True})
    assert found == [{"path": ["surprise"], "message": "Unrecognized key: surprise"}]


def test_run_create_defaults_the_source_to_manual() -> None:
    assert validate(RUN_CREATE, {}) == {"source": "manual"}


def test_run_create_does_not_accept_schedule_as_a_source() -> None:
    problem = only_problem(RUN_CREATE, {"source": "schedule"})
    assert (
        problem["message"] == "Invalid enum value. Expected 'manual' | 'api', received 'schedule'"
    )


def test_run_create_parses_its_ids_and_allows_them_null() -> None:
    trigger_id = uuid.uuid4()
    result = validate(RUN_CREATE, {"triggerId": str(trigger_id), "projectId": None})
    assert result == {"source": "manual", "triggerId": trigger_id, "projectId": None}


def test_trigger_replay_window_is_bounded() -> None:
    body = {"kind": "webhook", "replayWindowSec": 29}
    problem = only_problem(TRIGGER_CREATE, body)
    assert problem == {
        "path": ["replayWindowSec"],
        "message": "Number must be greater than or equal to 30",
    }


def test_trigger_create_defaults() -> None:
    result = validate(TRIGGER_CREATE, {"kind": "schedule", "cronExpression": "0 9 * * *"})
    assert result == {
        "kind": "schedule",
        "label": None,
        "enabled": True,
        "cronExpression": "0 9 * * *",
        "timezone": "UTC",
        "signingMode": "bearer",
        "replayWindowSec": 300,
    }


def test_agent_create_defaults_the_status_to_active() -> None:
    assert validate(AGENT_CREATE, {"name": "Bot"}) == {"name": "Bot", "status": "active"}
