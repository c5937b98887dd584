"""Changing and deleting triggers over HTTP (API.md 4): what a PATCH may change, how a
schedule's next run is recomputed, and what is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devstack.api import Api, World
from tests.support.clock import FixedClock
from tests.support.triggers import (
    NOT_FOUND,
    NOW,
    SCHEDULE,
    TRIGGER_FIELDS,
    added,
    listed,
    patch,
)

CLOCK_START = NOW


def test_label_and_enabled_can_be_changed(api: Api, world: World, clock: FixedClock) -> None:
    trigger = added(api, world, kind="api", label="old")
    clock.advance(minutes=5)
    response = patch(api, trigger, {"label": "new", "enabled": False})
    assert response.status == 200
    assert set(response.body) == TRIGGER_FIELDS
    assert (response.body["label"], response.body["enabled"]) == ("new", False)
    assert response.body["updatedAt"] == "2026-11-23T08:35:00.000Z"
    assert response.body["createdAt"] == "2026-11-23T08:30:00.000Z"
    assert patch(api, trigger, {"label": None}).body["label"] is None
    assert listed(api, world)[0]["label"] is None


def test_an_empty_patch_changes_nothing(api: Api, world: World) -> None:
    trigger = added(api, world, **SCHEDULE, label="keep")
    response = patch(api, trigger, {})
    assert response.status == 200
    assert {k: response.body[k] for k in ("label", "enabled", "cronExpression", "nextRunAt")} == {
        k: trigger[k] for k in ("label", "enabled", "cronExpression", "nextRunAt")
    }


def test_a_new_cron_expression_recomputes_the_next_run_from_now(
    api: Api, world: World, clock: FixedClock
) -> None:
    trigger = added(api, world, **SCHEDULE)
    clock.advance(hours=1)  # 09:30 UTC
    response = patch(api, trigger, {"cronExpression": "*/20 * * * *"})
    assert response.status == 200
    assert response.body["cronExpression"] == "*/20 * * * *"
    assert response.body["nextRunAt"] == "2026-11-23T09:40:00.000Z"


def test_a_new_timezone_recomputes_the_next_run(api: Api, world: World) -> None:
    trigger = added(api, world, kind="schedule", cronExpression="30 10 * * *")
    assert trigger["nextRunAt"] == "2026-11-23T10:30:00.000Z"
    response = patch(api, trigger, {"timezone": "America/New_York"})
    assert response.status == 200
    assert (response.body["timezone"], response.body["nextRunAt"]) == (
        "America/New_York",
        "2026-11-23T15:30:00.000Z",
    )


def test_re_enabling_a_schedule_restarts_it_from_now_without_backfill(
    api: Api, world: World, clock: FixedClock
) -> None:
    trigger = added(api, world, **SCHEDULE)
    assert patch(api, trigger, {"enabled": False}).status == 200
    clock.advance(days=3)  # 2026-11-26 08:30 UTC
    response = patch(api, trigger, {"enabled": True})
    assert response.status == 200
    assert response.body["nextRunAt"] == "2026-11-26T09:00:00.000Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"cronExpression": "0 0 9 * * 1"},
            'Cron expression must have exactly 5 fields, got 6: "0 0 9 * * 1"',
        ),
        ({"cronExpression": "* * * * ?"}, None),
        ({"cronExpression": "   "}, "Cron expression is required"),
        ({"timezone": "Mars/Olympus"}, "Invalid timezone: Mars/Olympus"),
    ],
)
def test_an_invalid_schedule_change_is_422_and_changes_nothing(
    api: Api, world: World, body: dict[str, Any], message: str | None
) -> None:
    trigger = added(api, world, **SCHEDULE)
    response = patch(api, trigger, {**body, "label": "never applied"})
    assert response.status == 422
    assert isinstance(response.error, str)
    if message is not None:
        assert response.error == message
    (after,) = listed(api, world)
    assert {k: after[k] for k in ("label", "cronExpression", "timezone", "nextRunAt")} == {
        k: trigger[k] for k in ("label", "cronExpression", "timezone", "nextRunAt")
    }


@pytest.mark.parametrize("body", [{"cronExpression": ""}, {"timezone": ""}])
def test_an_empty_cron_expression_or_timezone_in_a_patch_is_422(
    api: Api, world: World, body: dict[str, Any]
) -> None:
    trigger = added(api, world, **SCHEDULE)
    assert patch(api, trigger, body).status == 422


@pytest.mark.parametrize(
    ("create", "body"),
    [
        ({"kind": "api"}, {"kind": "schedule"}),
        ({"kind": "webhook"}, {"kind": "api"}),
        (SCHEDULE, {"kind": "webhook"}),
        ({"kind": "api"}, {"kind": "carrier-pigeon"}),
    ],
)
def test_the_kind_of_a_trigger_cannot_change(
    api: Api, world: World, create: dict[str, Any], body: dict[str, Any]
) -> None:
    trigger = added(api, world, **create)
    response = patch(api, trigger, body)
    assert (response.status, response.error) == (422, "Trigger kind cannot be changed")
    assert listed(api, world)[0]["kind"] == create["kind"]


def test_repeating_the_current_kind_is_allowed(api: Api, world: World) -> None:
    trigger = added(api, world, kind="api")
    assert patch(api, trigger, {"kind": "api", "label": "same"}).body["label"] == "same"


@pytest.mark.parametrize(
    ("create", "body", "message"),
    [
        (
            {"kind": "webhook"},
            {"cronExpression": "0 9 * * *"},
            "cronExpression only applies to schedule triggers",
        ),
        ({"kind": "webhook"}, {"timezone": "UTC"}, "timezone only applies to schedule triggers"),
        ({"kind": "api"}, {"cronExpression": "0 9 * * *"}, None),
        (SCHEDULE, {"signingMode": "none"}, "signingMode only applies to webhook triggers"),
        ({"kind": "api"}, {"replayWindowSec": 60}, None),
    ],
)
def test_fields_of_another_kind_are_422(
    api: Api, world: World, create: dict[str, Any], body: dict[str, Any], message: str | None
) -> None:
    trigger = added(api, world, **create)
    response = patch(api, trigger, body)
    assert response.status == 422
    if message is not None:
        assert response.error == message


def test_a_webhooks_signing_mode_and_replay_window_can_change(api: Api, world: World) -> None:
    trigger = added(api, world, kind="webhook")
    response = patch(api, trigger, {"signingMode": "hmac_sha256", "replayWindowSec": 600})
    assert response.status == 200
    assert (response.body["signingMode"], response.body["replayWindowSec"]) == ("hmac_sha256", 600)
    assert response.body["publicId"] == trigger["publicId"]


@pytest.mark.parametrize(
    "body",
    [{"replayWindowSec": 29}, {"replayWindowSec": 86401}, {"label": "x" * 121}, {"enabled": None}],
)
def test_a_malformed_patch_is_400(api: Api, world: World, body: dict[str, Any]) -> None:
    trigger = added(api, world, kind="webhook")
    response = patch(api, trigger, body)
    assert (response.status, response.error) == (400, "Validation error")


@pytest.mark.parametrize("trigger_id", [str(uuid.uuid4()), "nope"])
def test_changing_an_unknown_trigger_is_404(api: Api, trigger_id: str) -> None:
    response = api.patch(f"/api/routine-triggers/{trigger_id}", {"label": "x"})
    assert (response.status, response.error) == (404, NOT_FOUND)


def test_a_deleted_trigger_is_gone_and_deleting_again_is_404(api: Api, world: World) -> None:
    trigger = added(api, world, kind="webhook")
    keep = added(api, world, kind="api")
    path = f"/api/routine-triggers/{trigger['id']}"
    response = api.delete(path)
    assert (response.status, response.body) == (204, None)
    assert [t["id"] for t in listed(api, world)] == [keep["id"]]
    for again in (
        api.delete(path),
        api.patch(path, {"label": "x"}),
        api.post(f"{path}/rotate-secret"),
    ):
        assert (again.status, again.error) == (404, NOT_FOUND)


def test_deleting_an_unknown_trigger_is_404(api: Api) -> None:
    for trigger_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = api.delete(f"/api/routine-triggers/{trigger_id}")
        assert (response.status, response.error) == (404, NOT_FOUND)
