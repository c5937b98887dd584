"""parse_body(): the one gate every request body passes through."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, StrictStr

from shared.contract import bodies
from shared.contract.bodies import Body, StrictBody
from shared.contract.errors import Invalid
from shared.contract.fields import (
    FINITE,
    INTEGRAL,
    STORABLE,
    TRIMMED,
    Boolean,
    JsonObject,
    Omittable,
    Uuid,
)
from shared.contract.parsing import parse_body


@dataclass(frozen=True)
class Schema:
    """A body model, with the model of its PATCH form where a test validates `partial`."""

    model: type[BaseModel]
    patch: type[BaseModel] | None = None

    @property
    def strict(self) -> bool:
        return self.model.model_config.get("extra") == "forbid"


def validate(schema: Schema, body: Any, *, partial: bool = False) -> dict[str, Any]:
    """The parsed command as wire keys: those given, and those with a documented default."""
    model = (schema.patch or schema.model) if partial else schema.model
    command = parse_body(model, body)
    properties = model.model_json_schema(by_alias=True)["properties"]
    wanted = {
        field.alias or name
        for name, field in model.model_fields.items()
        if name in command.model_fields_set or "default" in properties[field.alias or name]
    }
    return {k: v for k, v in command.model_dump(by_alias=True).items() if k in wanted}


def problems_of(schema: Schema, body: Any, **options: Any) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as caught:
        validate(schema, body, **options)
    assert caught.value.message == "Validation error"
    return list(caught.value.details)


def only_problem(schema: Schema, body: Any) -> dict[str, Any]:
    found = problems_of(schema, body)
    assert len(found) == 1, found
    return found[0]


class Named(Body):
    name: StrictStr


class NamedPatch(Body):
    name: Omittable[StrictStr] = None


class WithDefault(Body):
    color: StrictStr = "blue"


class WithDefaultPatch(Body):
    color: Omittable[StrictStr] = None


class Strict(StrictBody):
    name: Omittable[StrictStr] = None


class Lenient(Body):
    name: Omittable[StrictStr] = None


class Two(Body):
    a: StrictStr
    b: Omittable[Annotated[int, INTEGRAL]] = None


class Note(Body):
    note: StrictStr | None = None


class Trimmed(Body):
    name: Omittable[Annotated[StrictStr, TRIMMED]] = None


class TrimmedNonEmpty(Body):
    name: Omittable[Annotated[StrictStr, Field(min_length=1), TRIMMED]] = None


class Short(Body):
    code: Omittable[Annotated[StrictStr, Field(max_length=3), STORABLE]] = None


class Color(Body):
    color: Omittable[Literal["red", "green"]] = None


class Red(Body):
    color: Omittable[Literal["red"]] = None


class Ids(Body):
    id: Omittable[Uuid] = None


class Ints(Body):
    n: Omittable[Annotated[int, Field(ge=1, le=10), INTEGRAL]] = None


class Nums(Body):
    x: Omittable[Annotated[float, Field(ge=0.5), FINITE]] = None


class Flag(Body):
    on: Omittable[Boolean] = None


class Obj(Body):
    data: Omittable[JsonObject] = None


class Anything(Body):
    v: Any = None


class Tags(Body):
    tags: Omittable[Annotated[list[Annotated[StrictStr, TRIMMED]], Field(max_length=2)]] = None


class Loose(Body):
    xs: Omittable[list[Any]] = None


class IdList(Body):
    ids: Omittable[list[Uuid]] = None


AGENT_CREATE = Schema(bodies.AgentCreate)
ROUTINE_CREATE = Schema(bodies.RoutineCreate, patch=bodies.RoutinePatch)
RUN_CREATE = Schema(bodies.RunCreate)
TRIGGER_CREATE = Schema(bodies.TriggerCreate)
NAMED = Schema(Named, patch=NamedPatch)
WITH_DEFAULT = Schema(WithDefault, patch=WithDefaultPatch)
STRICT = Schema(Strict)
LENIENT = Schema(Lenient)


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
    schema = Schema(Two)
    found = problems_of(schema, {"b": "x"})
    assert {tuple(p["path"]) for p in found} == {("a",), ("b",)}


def test_null_is_rejected_for_a_field_that_is_not_nullable() -> None:
    problem = only_problem(LENIENT, {"name": None})
    assert problem == {"path": ["name"], "message": "Expected string, received null"}


def test_null_is_kept_for_a_nullable_field() -> None:
    schema = Schema(Note)
    assert validate(schema, {"note": None}) == {"note": None}


# strings


def test_trimmed_strings_lose_surrounding_whitespace() -> None:
    schema = Schema(Trimmed)
    assert validate(schema, {"name": "  Acme \n"}) == {"name": "Acme"}


def test_untrimmed_strings_keep_their_whitespace() -> None:
    assert validate(LENIENT, {"name": "  Acme "}) == {"name": "  Acme "}


def test_min_length_is_checked_after_trimming() -> None:
    schema = Schema(TrimmedNonEmpty)
    problem = only_problem(schema, {"name": "   "})
    assert problem["message"] == "String must contain at least 1 character(s)"


def test_a_string_longer_than_max_length_is_rejected() -> None:
    schema = Schema(Short)
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
    schema = Schema(Color)
    problem = only_problem(schema, {"color": "blue"})
    assert problem["message"] == "Invalid enum value. Expected 'red' | 'green', received 'blue'"


def test_an_enum_given_a_non_string_names_its_type() -> None:
    schema = Schema(Red)
    problem = only_problem(schema, {"color": 3})
    assert problem["message"] == "Invalid enum value. Expected 'red', received number"


def test_an_enum_value_among_the_choices_is_accepted() -> None:
    schema = Schema(Color)
    assert validate(schema, {"color": "green"}) == {"color": "green"}


# uuids

UUIDS = Schema(Ids)


def test_a_uuid_string_is_parsed_into_a_uuid() -> None:
    raw = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    assert validate(UUIDS, {"id": raw}) == {"id": uuid.UUID(raw)}


def test_a_malformed_uuid_is_rejected() -> None:
    assert only_problem(UUIDS, {"id": "not-a-uuid"})["message"] == "Invalid uuid"


def test_a_uuid_given_as_a_number_is_rejected_as_not_a_string() -> None:
    assert only_problem(UUIDS, {"id": 12})["message"] == "Expected string, received number"


# numbers

INTEGERS = Schema(Ints)
NUMBERS = Schema(Nums)


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
    schema = Schema(Flag)
    assert validate(schema, {"on": False}) == {"on": False}
    assert (
        only_problem(schema, {"on": value})["message"] == f"Expected boolean, received {received}"
    )


def test_an_object_field_rejects_a_list() -> None:
    schema = Schema(Obj)
    assert validate(schema, {"data": {"a": 1}}) == {"data": {"a": 1}}
    assert only_problem(schema, {"data": [1]})["message"] == "Expected object, received array"


def test_an_any_field_passes_its_value_through() -> None:
    schema = Schema(Anything)
    assert validate(schema, {"v": [1, {"a": None}]}) == {"v": [1, {"a": None}]}


# arrays

TAGS = Schema(Tags)


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
    schema = Schema(Loose)
    assert validate(schema, {"xs": [1, "a", None]}) == {"xs": [1, "a", None]}


def test_array_items_of_uuids_are_parsed() -> None:
    schema = Schema(IdList)
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
