"""A webhook trigger's secret never leaves except at create and at rotate (API.md 4)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.api import Api, World
from tests.support.clock import FixedClock
from tests.support.triggers import NOW, SCHEDULE, TRIGGER_FIELDS, add, added

CLOCK_START = NOW


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
