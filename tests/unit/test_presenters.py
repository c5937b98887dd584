"""Presenters: snake_case columns to camelCase keys, ids and times to strings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from shared.contract.wire import camel, value
from web.presenters import pick


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("id", "id"),
        ("company_id", "companyId"),
        ("assignee_agent_id", "assigneeAgentId"),
        ("replay_window_sec", "replayWindowSec"),
        ("last_triggered_at", "lastTriggeredAt"),
    ],
)
def test_camel_turns_snake_case_into_camel_case(name: str, expected: str) -> None:
    assert camel(name) == expected


def test_a_uuid_value_becomes_its_string() -> None:
    raw = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    assert value(raw) == "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def test_a_datetime_value_becomes_iso_utc_with_milliseconds() -> None:
    moment = datetime(2026, 11, 23, 8, 30, 49, 364_000, tzinfo=UTC)
    assert value(moment) == "2026-11-23T08:30:49.364Z"


@pytest.mark.parametrize("raw", [None, "text", 3, True, [1, 2], {"a": 1}])
def test_other_values_pass_through_unchanged(raw: object) -> None:
    assert value(raw) == raw


def test_pick_presents_the_named_fields_only() -> None:
    row_id = uuid.uuid4()
    row = SimpleNamespace(
        id=row_id,
        issue_prefix="ACM",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        secret="never shown",
    )
    assert pick(row, ("id", "issue_prefix", "created_at")) == {
        "id": str(row_id),
        "issuePrefix": "ACM",
        "createdAt": "2026-01-01T00:00:00.000Z",
    }
