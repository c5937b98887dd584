"""Rotating a webhook secret with a grace period: the previous secret keeps verifying
until then, in every signing mode; without one it fails at once (API.md 4)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import event, select
from standardwebhooks import Webhook

from devstack.api import Api, Response, World
from shared.models import RoutineTrigger, Secret
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock
from tests.support.triggers import NOW, add

CLOCK_START = NOW
BODY = b'{"event": "ping"}'


def _hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _bearer(secret: str, at: datetime) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _hmac(secret: str, at: datetime) -> dict[str, str]:
    stamp = str(int(at.timestamp()))
    signature = _hex(secret, stamp.encode() + b"." + BODY)
    return {"X-Paperclip-Timestamp": stamp, "X-Paperclip-Signature": signature}


def _github(secret: str, at: datetime) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + _hex(secret, BODY)}


def _standard(secret: str, at: datetime) -> dict[str, str]:
    message_id = f"msg_{at.timestamp()}_{secret[-6:]}"
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, BODY.decode()),
    }


SIGNERS: dict[str, Callable[[str, datetime], dict[str, str]]] = {
    "bearer": _bearer,
    "hmac_sha256": _hmac,
    "github_hmac": _github,
    "standard_webhooks": _standard,
}


class Hook:
    def __init__(self, api: Api, world: World, clock: FixedClock, mode: str) -> None:
        created = add(api, world, kind="webhook", signingMode=mode).body
        self.api, self.clock, self.sign = api, clock, SIGNERS[mode]
        self.trigger: dict[str, Any] = created["trigger"]
        self.path = created["secretMaterial"]["webhookUrl"].split("3100", 1)[1]
        self.secret: str = created["secretMaterial"]["webhookSecret"]

    def rotate(self, body: Any = None) -> Response:
        return self.api.post(f"/api/routine-triggers/{self.trigger['id']}/rotate-secret", body)

    def rotated(self, grace: int) -> dict[str, Any]:
        response = self.rotate({"graceSeconds": grace})
        assert response.status == 200, response.body
        return dict(response.body)

    def fires(self, secret: str) -> int:
        headers = {"Content-Type": "application/json", **self.sign(secret, self.clock.now())}
        return self.api.as_(None).transport("POST", self.path, BODY, headers).status


@pytest.fixture
def make_hook(api: Api, world: World, clock: FixedClock) -> Callable[[str], Hook]:
    return lambda mode="bearer": Hook(api, world, clock, mode)


@pytest.mark.parametrize("mode", sorted(SIGNERS))
def test_the_previous_secret_verifies_until_the_grace_ends_in_every_mode(
    make_hook: Callable[[str], Hook], clock: FixedClock, mode: str
) -> None:
    hook = make_hook(mode)
    new = hook.rotated(600)["secretMaterial"]["webhookSecret"]
    assert hook.fires(hook.secret) == 202
    assert hook.fires(new) == 202
    clock.advance(seconds=599)
    assert hook.fires(hook.secret) == 202
    clock.advance(seconds=1)
    assert hook.fires(hook.secret) == 401
    assert hook.fires(new) == 202


@pytest.mark.parametrize("mode", sorted(SIGNERS))
def test_without_a_grace_the_old_secret_fails_at_once(
    make_hook: Callable[[str], Hook], mode: str
) -> None:
    hook = make_hook(mode)
    for body in (None, {}, {"graceSeconds": 0}):
        old, rotated = hook.secret, hook.rotate(body)
        assert rotated.status == 200, rotated.body
        assert rotated.body["trigger"]["previousSecretExpiresAt"] is None
        hook.secret = rotated.body["secretMaterial"]["webhookSecret"]
        assert hook.fires(old) == 401
        assert hook.fires(hook.secret) == 202


def test_the_trigger_shows_when_the_previous_secret_expires(
    api: Api, world: World, make_hook: Callable[[str], Hook], clock: FixedClock
) -> None:
    hook = make_hook("bearer")
    assert hook.trigger["previousSecretExpiresAt"] is None
    clock.advance(minutes=5)
    rotated = hook.rotated(86400)["trigger"]
    assert rotated["previousSecretExpiresAt"] == "2026-11-24T08:35:00.000Z"
    assert rotated["lastRotatedAt"] == "2026-11-23T08:35:00.000Z"
    listed = api.ok("GET", f"/api/routines/{world.routine['id']}/triggers")
    assert [t["previousSecretExpiresAt"] for t in listed] == ["2026-11-24T08:35:00.000Z"]


def test_a_second_rotation_ends_the_first_grace_at_once(
    make_hook: Callable[[str], Hook], clock: FixedClock
) -> None:
    hook = make_hook("hmac_sha256")
    first = hook.secret
    second = hook.rotated(3600)["secretMaterial"]["webhookSecret"]
    clock.advance(seconds=10)
    answer = hook.rotated(3600)
    third = answer["secretMaterial"]["webhookSecret"]
    assert answer["trigger"]["previousSecretExpiresAt"] == "2026-11-23T09:30:10.000Z"
    assert hook.fires(first) == 401
    assert hook.fires(second) == 202
    assert hook.fires(third) == 202
    assert hook.rotated(0)["trigger"]["previousSecretExpiresAt"] is None
    assert hook.fires(second) == 401
    assert hook.fires(third) == 401


def test_only_the_live_secrets_are_stored_and_deleting_removes_both(
    make_hook: Callable[[str], Hook], runtime: Runtime, api: Api
) -> None:
    hook = make_hook("bearer")
    for _ in range(3):
        hook.rotated(60)
    with runtime.sessions() as session:
        trigger = session.get(RoutineTrigger, hook.trigger["id"])
        assert trigger is not None
        live = {trigger.secret_id, trigger.previous_secret_id}
        assert set(session.scalars(select(Secret.id))) == live
    assert api.call("DELETE", f"/api/routine-triggers/{hook.trigger['id']}").status == 204
    with runtime.sessions() as session:
        assert session.scalars(select(Secret.id)).all() == []


@pytest.mark.parametrize(
    ("grace", "message"),
    [
        (-1, "Number must be greater than or equal to 0"),
        (86401, "Number must be less than or equal to 86400"),
        ("60", "Expected integer, received string"),
        (None, "Expected integer, received null"),
        (True, "Expected integer, received boolean"),
        (1.5, "Expected integer, received float"),
    ],
)
def test_a_bad_grace_is_the_usual_400(
    make_hook: Callable[[str], Hook], grace: object, message: str
) -> None:
    response = make_hook("bearer").rotate({"graceSeconds": grace})
    assert response.status == 400
    assert response.body == {
        "error": "Validation error",
        "details": [{"path": ["graceSeconds"], "message": message}],
    }


def test_a_body_that_is_not_an_object_is_400(make_hook: Callable[[str], Hook]) -> None:
    response = make_hook("bearer").rotate([60])
    assert (response.status, response.error) == (400, "Request body must be a JSON object")


def test_grace_ends_on_the_injected_clock_not_the_wall_clock(
    make_hook: Callable[[str], Hook], clock: FixedClock
) -> None:
    hook = make_hook("bearer")
    hook.rotated(1)
    clock.advance(seconds=-3600)
    assert hook.fires(hook.secret) == 202
    clock.advance(seconds=3601)
    assert hook.fires(hook.secret) == 401


def test_a_fire_in_a_grace_is_still_one_statement(
    make_hook: Callable[[str], Hook], runtime: Runtime
) -> None:
    """The previous secret comes with what the process knows of the trigger
    (shared.webhooks.hooks): no extra round trip."""
    hook = make_hook("bearer")
    hook.rotated(600)
    for _ in range(2):  # the look-up, then the insert prepared on its connection
        assert hook.fires(hook.secret) == 202
    seen: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement.split("(", 1)[0].strip())

    for engine in (runtime.engine, runtime.autocommit):
        event.listen(engine, "before_cursor_execute", record)
    try:
        assert hook.fires(hook.secret) == 202
    finally:
        for engine in (runtime.engine, runtime.autocommit):
            event.remove(engine, "before_cursor_execute", record)
    assert seen == ["EXECUTE routines_insert_webhook_run"]


def test_a_previous_secret_no_key_opens_only_loses_its_grace(
    make_hook: Callable[[str], Hook], runtime: Runtime
) -> None:
    hook = make_hook("bearer")
    new = hook.rotated(600)["secretMaterial"]["webhookSecret"]
    with runtime.sessions() as session, session.begin():
        trigger = session.get(RoutineTrigger, hook.trigger["id"])
        assert trigger is not None
        previous = session.get(Secret, trigger.previous_secret_id)
        assert previous is not None
        previous.ciphertext = "sealed-with-a-key-long-gone"
    assert hook.fires(new) == 202
    assert hook.fires(hook.secret) == 401
