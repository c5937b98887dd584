"""Creating triggers over HTTP (API.md 4): the fields each kind keeps, a webhook's secret
material shown once, the body's rules and a schedule's first run."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from devstack.api import Api, World
from tests.support.triggers import (
    NOW,
    SCHEDULE,
    TRIGGER_FIELDS,
    add,
    added,
    listed,
    problem_paths,
)

CLOCK_START = NOW


@pytest.mark.parametrize(
    ("body", "next_run_at"),
    [(SCHEDULE, "2026-11-23T09:00:00.000Z"), ({"kind": "api"}, None)],
    ids=["schedule", "api"],
)
def test_schedule_and_api_triggers_are_created_without_secret_material(
    api: Api, world: World, body: dict[str, Any], next_run_at: str | None
) -> None:
    response = add(api, world, **body)
    assert response.status == 201
    assert set(response.body) == {"trigger", "secretMaterial"}
    assert response.body["secretMaterial"] is None
    trigger = response.body["trigger"]
    assert set(trigger) == TRIGGER_FIELDS
    assert (trigger["companyId"], trigger["routineId"]) == (
        world.company["id"],
        world.routine["id"],
    )
    assert (trigger["kind"], trigger["label"], trigger["enabled"]) == (body["kind"], None, True)
    assert trigger["cronExpression"] == body.get("cronExpression")
    assert trigger["nextRunAt"] == next_run_at
    assert (trigger["publicId"], trigger["lastFiredAt"], trigger["lastResult"]) == (None,) * 3
    assert trigger["createdAt"] == trigger["updatedAt"] == "2026-11-23T08:30:00.000Z"
    assert (trigger["createdByUserId"], trigger["createdByAgentId"]) == (None, None)


def test_a_schedule_trigger_defaults_to_utc(api: Api, world: World) -> None:
    trigger = added(api, world, **SCHEDULE)
    assert trigger["timezone"] == "UTC"


def test_a_webhook_trigger_is_created_with_its_url_and_secret_once(api: Api, world: World) -> None:
    response = add(api, world, kind="webhook", label="Stripe")
    assert response.status == 201
    assert set(response.body) == {"trigger", "secretMaterial"}
    trigger, material = response.body["trigger"], response.body["secretMaterial"]
    assert set(trigger) == TRIGGER_FIELDS
    assert set(material) == {"webhookUrl", "webhookSecret"}
    assert re.fullmatch(r"[0-9a-f]{24}", trigger["publicId"])
    assert re.fullmatch(r"[0-9a-f]{48}", material["webhookSecret"])
    assert material["webhookUrl"] == (
        f"http://127.0.0.1:3100/api/routine-triggers/public/{trigger['publicId']}/fire"
    )
    assert (trigger["signingMode"], trigger["replayWindowSec"]) == ("bearer", 300)
    assert (trigger["label"], trigger["nextRunAt"], trigger["cronExpression"]) == (
        "Stripe",
        None,
        None,
    )
    assert material["webhookSecret"] not in json.dumps(trigger)


def test_each_webhook_gets_its_own_public_id_and_secret(api: Api, world: World) -> None:
    bodies = [add(api, world, kind="webhook").body for _ in range(3)]
    assert len({b["trigger"]["publicId"] for b in bodies}) == 3
    assert len({b["secretMaterial"]["webhookSecret"] for b in bodies}) == 3


@pytest.mark.parametrize(
    "mode", ["bearer", "hmac_sha256", "github_hmac", "standard_webhooks", "none"]
)
def test_every_signing_mode_can_be_chosen(api: Api, world: World, mode: str) -> None:
    assert added(api, world, kind="webhook", signingMode=mode)["signingMode"] == mode


@pytest.mark.parametrize("label", ["x" * 120, None, ""])
def test_a_label_of_up_to_120_characters_or_null_is_kept(
    api: Api, world: World, label: str | None
) -> None:
    assert added(api, world, kind="api", label=label)["label"] == label


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"kind": "api", "label": "x" * 121}, ["label"]),
        ({"kind": "api", "label": 5}, ["label"]),
        ({}, ["kind"]),
        ({"label": "no kind"}, ["kind"]),
        ({"kind": None}, ["kind"]),
        ({"kind": "email"}, ["kind"]),
        ({"kind": "Schedule", "cronExpression": "0 9 * * *"}, ["kind"]),
        ({"kind": "api", "enabled": "yes"}, ["enabled"]),
        ({"kind": "webhook", "replayWindowSec": 29}, ["replayWindowSec"]),
        ({"kind": "webhook", "replayWindowSec": 86401}, ["replayWindowSec"]),
        ({"kind": "webhook", "replayWindowSec": 300.5}, ["replayWindowSec"]),
        ({"kind": "webhook", "replayWindowSec": "300"}, ["replayWindowSec"]),
        ({"kind": "webhook", "signingMode": "md5"}, ["signingMode"]),
    ],
)
def test_a_malformed_trigger_body_is_400_and_creates_nothing(
    api: Api, world: World, body: dict[str, Any], path: list[str]
) -> None:
    response = add(api, world, **body)
    assert (response.status, response.error) == (400, "Validation error")
    assert path in problem_paths(response)
    assert listed(api, world) == []


@pytest.mark.parametrize("window", [30, 86400])
def test_the_replay_window_bounds_are_inclusive(api: Api, world: World, window: int) -> None:
    assert added(api, world, kind="webhook", replayWindowSec=window)["replayWindowSec"] == window


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"kind": "schedule", "cronExpression": "0 0 9 * * 1"},
            'Cron expression must have exactly 5 fields, got 6: "0 0 9 * * 1"',
        ),
        (
            {"kind": "schedule", "cronExpression": "61 * * * *"},
            "Value 61 out of range [0\u201359] for cron minute field",
        ),
        (
            {"kind": "schedule", "cronExpression": "0 9 * * *", "timezone": "Mars/Olympus"},
            "Invalid timezone: Mars/Olympus",
        ),
    ],
)
def test_an_invalid_schedule_is_422_and_creates_nothing(
    api: Api, world: World, body: dict[str, Any], message: str
) -> None:
    response = add(api, world, **body)
    assert (response.status, response.error) == (422, message)
    assert listed(api, world) == []


def test_a_schedule_without_a_cron_expression_is_400_naming_the_field(
    api: Api, world: World
) -> None:
    response = add(api, world, kind="schedule")
    assert (response.status, response.error) == (400, "Validation error")
    assert response.body["details"] == [{"path": ["cronExpression"], "message": "Required"}]
    assert listed(api, world) == []


def test_the_first_run_is_computed_in_the_triggers_time_zone(api: Api, world: World) -> None:
    # 09:00 in Paris is 08:00 UTC, already past at 08:30 UTC: tomorrow.
    trigger = added(api, world, **SCHEDULE, timezone="Europe/Paris")
    assert (trigger["timezone"], trigger["nextRunAt"]) == (
        "Europe/Paris",
        "2026-11-24T08:00:00.000Z",
    )


def test_a_schedule_due_exactly_now_first_runs_at_the_next_match(api: Api, world: World) -> None:
    trigger = added(api, world, kind="schedule", cronExpression="30 8 * * *")
    assert trigger["nextRunAt"] == "2026-11-24T08:30:00.000Z"


def test_a_trigger_for_an_unknown_routine_is_404(api: Api) -> None:
    for routine_id in (str(uuid.uuid4()), "not-a-uuid"):
        response = api.post(f"/api/routines/{routine_id}/triggers", {"kind": "api"})
        assert (response.status, response.error) == (404, "Routine not found")
