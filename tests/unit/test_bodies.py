"""The request body models as commands: what parse_body hands a use case, and the 400s
of the contract that the generic validation tests do not reach."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from shared.contract.bodies import (
    MemberCreate,
    RoutineCreate,
    RoutinePatch,
    RunCreate,
    TriggerCreate,
)
from shared.contract.errors import Invalid
from shared.contract.parsing import parse_body

RAW = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def problems(model: type[BaseModel], body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(Invalid) as caught:
        parse_body(model, body)
    return list(caught.value.details)


@pytest.mark.parametrize(
    "raw", [RAW, RAW.upper(), "{" + RAW + "}", "urn:uuid:" + RAW, RAW.replace("-", "")]
)
def test_a_uuid_is_read_as_leniently_as_python_reads_one(raw: str) -> None:
    assert parse_body(MemberCreate, {"userId": raw}).user_id == uuid.UUID(RAW)


def test_null_for_a_required_uuid_names_the_uuid_kind() -> None:
    found = problems(MemberCreate, {"userId": None})
    assert found == [{"path": ["userId"], "message": "Expected uuid, received null"}]


def test_a_bad_item_of_an_enum_list_is_reported_with_its_index_and_the_choices() -> None:
    found = problems(MemberCreate, {"userId": RAW, "permissions": ["tasks:assign", "x"]})
    assert found == [
        {
            "path": ["permissions"],
            "message": "Item 1: Invalid enum value. Expected 'tasks:assign', received 'x'",
        }
    ]


def test_unknown_keys_come_first_then_the_fields_in_declaration_order() -> None:
    body = {"zz": 1, "triggerId": 3, "source": "x", "aa": 2}
    assert [p["path"] for p in problems(RunCreate, body)] == [
        ["zz"],
        ["aa"],
        ["source"],
        ["triggerId"],
    ]


def test_snake_case_keys_are_unknown_keys() -> None:
    found = problems(RunCreate, {"trigger_id": RAW})
    assert found == [{"path": ["trigger_id"], "message": "Unrecognized key: trigger_id"}]
    lenient = parse_body(RoutineCreate, {"title": "T", "assignee_agent_id": RAW})
    assert lenient.assignee_agent_id is None


def test_a_patch_tells_a_key_left_out_from_a_null() -> None:
    cleared = parse_body(RoutinePatch, {"description": None})
    untouched = parse_body(RoutinePatch, {})
    assert cleared.description is None
    assert cleared.model_fields_set == {"description"}
    assert untouched.model_fields_set == set()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("title", "Expected string, received null"),
        ("status", "Expected enum, received null"),
        ("variables", "Expected array, received null"),
    ],
)
def test_a_patch_refuses_null_where_the_field_is_not_nullable(key: str, message: str) -> None:
    assert problems(RoutinePatch, {key: None}) == [{"path": [key], "message": message}]


def test_a_lone_surrogate_is_an_invalid_enum_value() -> None:
    found = problems(RoutineCreate, {"title": "T", "priority": "\ud800"})
    assert found[0]["message"] == (
        "Invalid enum value. Expected 'critical' | 'high' | 'medium' | 'low', received '\ud800'"
    )


def test_the_command_carries_typed_values_and_defaults() -> None:
    trigger = parse_body(TriggerCreate, {"kind": "webhook", "replayWindowSec": 60.0})
    assert (trigger.kind, trigger.enabled, trigger.signing_mode) == ("webhook", True, "bearer")
    assert type(trigger.replay_window_sec) is int
    assert trigger.cron_expression is None
