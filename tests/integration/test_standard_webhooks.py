"""The Standard Webhooks signing mode, with the official `standardwebhooks` package as
the sender: secret format, signatures, the timestamp window, and `webhook-id` as the
idempotency key."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from devstack.api import Api, Response, make_world
from shared.models import RoutineRun, Secret
from shared.platform.runtime import Runtime
from tests.integration.test_metrics_inprocess import scrape, total

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
CLOCK_START = NOW
BODY = '{"type": "invoice.paid", "amount": 3}'


@dataclass
class Sender:
    """A trigger in standard_webhooks mode and the official library signing for it."""

    api: Api
    trigger: dict
    path: str
    secret: str

    def headers(self, message_id: str, at: datetime = NOW, body: str = BODY) -> dict[str, str]:
        signature = Webhook(self.secret).sign(message_id, at, body)
        stamp = str(int(at.timestamp()))
        return {
            "webhook-id": message_id,
            "webhook-timestamp": stamp,
            "webhook-signature": signature,
        }

    def fire(self, headers: dict[str, str], body: str = BODY) -> Response:
        sent = {"Content-Type": "application/json", **headers}
        return self.api.as_(None).transport("POST", self.path, body.encode(), sent)


@pytest.fixture
def sender(sched_api: Api) -> Sender:
    return make_sender(sched_api)


def make_sender(api: Api, **fields: object) -> Sender:
    world = make_world(api)
    body = {"kind": "webhook", "signingMode": "standard_webhooks", **fields}
    created = api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", body)
    material = created["secretMaterial"]
    path = material["webhookUrl"].split("127.0.0.1:3100", 1)[1]
    return Sender(api, created["trigger"], path, material["webhookSecret"])


def runs(runtime: Runtime) -> list[RoutineRun]:
    with runtime.sessions() as session:
        return list(session.scalars(select(RoutineRun)))


def test_the_secret_is_whsec_base64_of_at_least_24_random_bytes(sender: Sender) -> None:
    assert sender.trigger["signingMode"] == "standard_webhooks"
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+={0,2}", sender.secret)
    assert len(base64.b64decode(sender.secret.removeprefix("whsec_"))) >= 24


def test_the_secret_is_stored_encrypted(sender: Sender, runtime: Runtime) -> None:
    with runtime.sessions() as session:
        stored = session.scalars(select(Secret.ciphertext)).all()
    assert stored
    encoded = sender.secret.removeprefix("whsec_")
    assert all(encoded not in ciphertext for ciphertext in stored)


def test_a_delivery_signed_by_the_official_library_records_a_run(
    sender: Sender, runtime: Runtime
) -> None:
    response = sender.fire(sender.headers("msg_1"))
    assert response.status == 202, response.body
    assert response.body["source"] == "webhook"
    assert response.body["triggerPayload"] == json.loads(BODY)
    assert response.body["idempotencyKey"] == "msg_1"
    assert [run.id for run in runs(runtime)] == [uuid.UUID(response.body["id"])]


def test_a_redelivery_with_the_same_webhook_id_returns_the_first_run(
    sender: Sender, runtime: Runtime
) -> None:
    first = sender.fire(sender.headers("msg_2"))
    later = sender.fire(sender.headers("msg_2", at=NOW + timedelta(seconds=30)))
    assert first.status == later.status == 202
    assert later.body["id"] == first.body["id"]
    assert len(runs(runtime)) == 1


def test_another_idempotency_key_header_cannot_turn_a_redelivery_into_a_new_run(
    sender: Sender, runtime: Runtime
) -> None:
    first = sender.fire(sender.headers("msg_3"))
    again = sender.fire({**sender.headers("msg_3"), "Idempotency-Key": "something-else"})
    assert again.body["id"] == first.body["id"]
    assert len(runs(runtime)) == 1


def test_different_webhook_ids_are_different_runs(sender: Sender, runtime: Runtime) -> None:
    assert sender.fire(sender.headers("msg_a")).status == 202
    assert sender.fire(sender.headers("msg_b")).status == 202
    assert len(runs(runtime)) == 2


def test_any_one_of_several_signatures_may_match(sender: Sender) -> None:
    signed = sender.headers("msg_4")
    stranger = Webhook(base64.b64encode(b"s" * 32).decode()).sign("msg_4", NOW, BODY)
    signed["webhook-signature"] = f"v2,abc {stranger} {signed['webhook-signature']} v1,!!"
    assert sender.fire(signed).status == 202


def test_a_signature_under_another_version_is_not_accepted(sender: Sender) -> None:
    signed = sender.headers("msg_5")
    signed["webhook-signature"] = signed["webhook-signature"].replace("v1,", "v2,")
    assert sender.fire(signed).status == 401


def test_another_secret_or_a_changed_body_or_id_is_401(sender: Sender) -> None:
    other = make_sender(sender.api)
    response = sender.fire(other.headers("msg_6"))
    assert (response.status, response.body) == (401, {"error": "Unauthorized"})
    assert sender.fire(sender.headers("msg_6"), body='{"amount": 4}').status == 401
    assert sender.fire({**sender.headers("msg_6"), "webhook-id": "msg_7"}).status == 401


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_timestamp_outside_the_replay_window_is_401(sender: Sender, offset: int) -> None:
    at = NOW + timedelta(seconds=offset)
    assert sender.fire(sender.headers("msg_8", at=at)).status == 401


@pytest.mark.parametrize("offset", [-300, 300])
def test_a_timestamp_at_the_edge_of_the_window_is_accepted(sender: Sender, offset: int) -> None:
    at = NOW + timedelta(seconds=offset)
    assert sender.fire(sender.headers(f"msg_9{offset}", at=at)).status == 202


def test_the_window_is_the_triggers_replay_window(sched_api: Api) -> None:
    wide = make_sender(sched_api, replayWindowSec=3600)
    assert wide.fire(wide.headers("msg_10", at=NOW - timedelta(minutes=59))).status == 202
    assert wide.fire(wide.headers("msg_11", at=NOW - timedelta(minutes=61))).status == 401


@pytest.mark.parametrize(
    "damage",
    [
        {"webhook-id": ""},
        {"webhook-timestamp": ""},
        {"webhook-timestamp": "1700000000.5"},
        {"webhook-timestamp": "-5"},
        {"webhook-timestamp": "9" * 40},
        {"webhook-signature": ""},
        {"webhook-signature": "v1"},
        {"webhook-signature": "v1,"},
        {"webhook-signature": "v1,%%%%"},
        {"webhook-signature": "v1,=" + "A" * 5000},
    ],
)
def test_malformed_headers_are_401_never_500(sender: Sender, damage: dict[str, str]) -> None:
    response = sender.fire({**sender.headers("msg_12"), **damage})
    assert (response.status, response.body) == (401, {"error": "Unauthorized"})


def test_failures_are_counted_under_the_mode(sender: Sender) -> None:
    name, mode = "routines_webhook_signature_failures_total", "standard_webhooks"
    before = total(scrape(sender.api), name, mode=mode)
    sender.fire({"webhook-id": "msg_13"})
    assert total(scrape(sender.api), name, mode=mode) == before + 1


def test_a_trigger_switched_to_the_mode_keeps_its_secret_as_base64_key(sched_api: Api) -> None:
    """A 48-hex secret is base64 too: the official library takes it as it is."""
    world = make_world(sched_api)
    created = sched_api.ok(
        "POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "webhook"}
    )
    trigger = created["trigger"]
    sched_api.ok(
        "PATCH", f"/api/routine-triggers/{trigger['id']}", {"signingMode": "standard_webhooks"}
    )
    material = created["secretMaterial"]
    switched = Sender(
        sched_api, trigger, material["webhookUrl"].split("3100", 1)[1], material["webhookSecret"]
    )
    assert switched.fire(switched.headers("msg_14")).status == 202
