"""Trigger create, change, delete and rotate over HTTP (API.md 4), on a clock that only
moves when told to, so that every `nextRunAt` is a literal."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.api import Api, Response, World, make_world
from tests.support.clock import FixedClock

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # a Monday
CLOCK_START = NOW
TRIGGER_FIELDS = {
    "id",
    "companyId",
    "routineId",
    "kind",
    "label",
    "enabled",
    "cronExpression",
    "timezone",
    "nextRunAt",
    "lastFiredAt",
    "publicId",
    "signingMode",
    "replayWindowSec",
    "lastRotatedAt",
    "lastResult",
    "createdByAgentId",
    "createdByUserId",
    "updatedByAgentId",
    "updatedByUserId",
    "createdAt",
    "updatedAt",
}
SCHEDULE = {"kind": "schedule", "cronExpression": "0 9 * * *"}
NOT_FOUND = "Routine trigger not found"


@pytest.fixture
def api(sched_api: Api) -> Api:
    """Every request of this module on the clock that only moves when told to."""
    return sched_api


@pytest.fixture
def world(api: Api) -> World:
    return make_world(api)


def add(api: Api, world: World, **body: Any) -> Response:
    return api.post(f"/api/routines/{world.routine['id']}/triggers", body)


def added(api: Api, world: World, **body: Any) -> dict[str, Any]:
    response = add(api, world, **body)
    assert response.status == 201, response.body
    return dict(response.body["trigger"])


def patch(api: Api, trigger: dict[str, Any], body: dict[str, Any]) -> Response:
    return api.patch(f"/api/routine-triggers/{trigger['id']}", body)


def listed(api: Api, world: World) -> list[dict[str, Any]]:
    return list(api.ok("GET", f"/api/routines/{world.routine['id']}")["triggers"])


def problem_paths(response: Response) -> list[list[Any]]:
    return [d["path"] for d in response.body["details"]]


# Create


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


@pytest.mark.parametrize("mode", ["bearer", "hmac_sha256", "github_hmac", "none"])
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


# Update


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


# Delete


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


# Secrets never leave except at create and rotate


def test_no_listing_ever_contains_a_webhook_secret(api: Api, world: World) -> None:
    created = add(api, world, kind="webhook", signingMode="hmac_sha256").body
    trigger = created["trigger"]
    rotated = api.ok("POST", f"/api/routine-triggers/{trigger['id']}/rotate-secret")
    secrets = [
        created["secretMaterial"]["webhookSecret"],
        rotated["secretMaterial"]["webhookSecret"],
    ]
    seen = [
        api.ok("GET", f"/api/routines/{world.routine['id']}"),
        api.ok("GET", f"/api/routines/{world.routine['id']}/triggers"),
        api.ok("GET", f"/api/companies/{world.company['id']}/routines"),
        api.ok("PATCH", f"/api/routine-triggers/{trigger['id']}", {"label": "renamed"}),
    ]
    assert api.ok("GET", f"/api/routines/{world.routine['id']}/triggers")[0]["id"] == trigger["id"]
    for body in seen:
        text = json.dumps(body)
        for secret in secrets:
            assert secret not in text
        assert "webhookSecret" not in text
        assert "secretMaterial" not in text


# Rotate


def test_rotating_gives_a_new_secret_for_the_same_url(
    api: Api, world: World, clock: FixedClock
) -> None:
    created = add(api, world, kind="webhook").body
    trigger_id = created["trigger"]["id"]
    clock.advance(minutes=10)
    response = api.post(f"/api/routine-triggers/{trigger_id}/rotate-secret")
    assert response.status == 200
    assert set(response.body) == {"trigger", "secretMaterial"}
    trigger, material = response.body["trigger"], response.body["secretMaterial"]
    assert set(trigger) == TRIGGER_FIELDS
    assert set(material) == {"webhookUrl", "webhookSecret"}
    assert trigger["publicId"] == created["trigger"]["publicId"]
    assert material["webhookUrl"] == created["secretMaterial"]["webhookUrl"]
    assert re.fullmatch(r"[0-9a-f]{48}", material["webhookSecret"])
    assert material["webhookSecret"] != created["secretMaterial"]["webhookSecret"]
    assert trigger["lastRotatedAt"] == "2026-11-23T08:40:00.000Z"
    assert created["trigger"]["lastRotatedAt"] is None


@pytest.mark.parametrize("body", [SCHEDULE, {"kind": "api"}])
def test_only_webhook_triggers_rotate(api: Api, world: World, body: dict[str, Any]) -> None:
    trigger = added(api, world, **body)
    response = api.post(f"/api/routine-triggers/{trigger['id']}/rotate-secret")
    assert (response.status, response.error) == (422, "Only webhook triggers can rotate secrets")
