"""The public webhook fire, with real signatures computed here, per signing mode."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from devstack.api import Api, Response, make_world
from shared.models import RoutineRun, Secret
from shared.platform.runtime import Runtime

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
CLOCK_START = NOW


@dataclass
class Hook:
    api: Api
    routine: dict
    trigger: dict
    url: str
    secret: str

    def fire(self, body: bytes = b"{}", **headers: str) -> Response:
        sent = {"Content-Type": "application/json", **headers}
        path = self.url.split("127.0.0.1:3100", 1)[1]
        return self.api.as_(None).call("POST", path, body, **sent)


@pytest.fixture
def hook_api(sched_api: Api) -> Api:
    """The API the hooks are made and fired with, on the module's clock."""
    return sched_api


@pytest.fixture
def make_hook(hook_api: Api) -> Callable[..., Hook]:
    def build(signing_mode: str = "bearer", **fields: object) -> Hook:
        world = make_world(hook_api)
        body = {"kind": "webhook", "signingMode": signing_mode, **fields}
        created = hook_api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", body)
        material = created["secretMaterial"]
        return Hook(
            hook_api,
            world.routine,
            created["trigger"],
            material["webhookUrl"],
            material["webhookSecret"],
        )

    return build


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def timestamped(secret: str, body: bytes, at: datetime, header: str = "X-Paperclip-Signature"):
    stamp = str(int(at.timestamp()))
    signature = hmac_hex(secret, stamp.encode() + b"." + body)
    return {"X-Paperclip-Timestamp": stamp, header.replace("-", "_"): f"sha256={signature}"}


def headers(**named: str) -> dict[str, str]:
    return {k.replace("_", "-"): v for k, v in named.items()}


def test_webhook_trigger_returns_url_and_secret_once(make_hook, hook_api: Api) -> None:
    hook = make_hook()
    assert len(hook.trigger["publicId"]) == 24
    assert len(hook.secret) == 48
    assert hook.url.endswith(f"/api/routine-triggers/public/{hook.trigger['publicId']}/fire")
    detail = hook_api.ok("GET", f"/api/routines/{hook.routine['id']}")
    assert hook.secret not in json.dumps(detail)


def test_secret_is_stored_encrypted(make_hook, runtime: Runtime) -> None:
    hook = make_hook()
    with runtime.sessions() as session:
        stored = session.scalars(select(Secret.ciphertext)).all()
    assert stored
    assert all(hook.secret not in ciphertext for ciphertext in stored)


def test_bearer_mode_accepts_the_secret_and_rejects_anything_else(make_hook) -> None:
    hook = make_hook("bearer")
    assert hook.fire(Authorization=f"Bearer {hook.secret}").status == 202
    assert hook.fire(Authorization=f"Bearer {hook.secret}x").status == 401
    assert hook.fire(Authorization="Basic abc").status == 401
    assert hook.fire().body == {"error": "Unauthorized"}


def test_unknown_public_id_is_404(hook_api: Api) -> None:
    response = hook_api.as_(None).post("/api/routine-triggers/public/" + "0" * 24 + "/fire", {})
    assert (response.status, response.error) == (404, "Routine trigger not found")


def test_hmac_mode_accepts_a_fresh_signature_and_records_the_body(make_hook, runtime) -> None:
    hook = make_hook("hmac_sha256")
    body = json.dumps({"event": "invoice.paid", "amount": 3}).encode()
    response = hook.fire(body, **headers(**timestamped(hook.secret, body, NOW)))
    assert response.status == 202
    assert response.body["source"] == "webhook"
    assert response.body["triggerPayload"] == {"event": "invoice.paid", "amount": 3}


def test_hmac_mode_accepts_x_hub_signature_and_millisecond_timestamps(make_hook) -> None:
    hook = make_hook("hmac_sha256")
    body = b'{"a": 1}'
    assert (
        hook.fire(
            body, **headers(**timestamped(hook.secret, body, NOW, "X-Hub-Signature-256"))
        ).status
        == 202
    )
    stamp = str(int(NOW.timestamp() * 1000) + 1)
    signature = hmac_hex(hook.secret, stamp.encode() + b"." + body)
    sent = {"X-Paperclip-Timestamp": stamp, "X-Paperclip-Signature": signature}
    assert hook.fire(body, **sent).status == 202


def test_hmac_mode_rejects_a_tampered_body(make_hook) -> None:
    hook = make_hook("hmac_sha256")
    signed = headers(**timestamped(hook.secret, b'{"a": 1}', NOW))
    assert hook.fire(b'{"a": 2}', **signed).status == 401


@pytest.mark.parametrize(
    ("offset", "status"),
    [(-300, 202), (300, 202), (-301, 401), (301, 401)],
)
def test_hmac_timestamps_at_the_window_edges(make_hook, offset: int, status: int) -> None:
    hook = make_hook("hmac_sha256", replayWindowSec=300)
    body = json.dumps({"offset": offset}).encode()
    at = NOW + timedelta(seconds=offset)
    assert hook.fire(body, **headers(**timestamped(hook.secret, body, at))).status == status


def test_hmac_replay_inside_the_window_is_409(make_hook) -> None:
    hook = make_hook("hmac_sha256")
    body = b'{"n": 1}'
    signed = headers(**timestamped(hook.secret, body, NOW))
    assert hook.fire(body, **signed).status == 202
    replay = hook.fire(body, **signed)
    assert (replay.status, replay.error) == (409, "Webhook replay detected")


@pytest.mark.parametrize(
    "bad",
    [
        {"X-Paperclip-Timestamp": "soon", "X-Paperclip-Signature": "sha256=" + "a" * 64},
        {"X-Paperclip-Timestamp": "1" * 40, "X-Paperclip-Signature": "a" * 64},
        {"X-Paperclip-Timestamp": "1700000000", "X-Paperclip-Signature": "sha256=zz"},
        {"X-Paperclip-Timestamp": "-5", "X-Paperclip-Signature": "a" * 64},
        {"X-Paperclip-Signature": "a" * 64},
        {"X-Paperclip-Timestamp": "1700000000"},
    ],
)
def test_malformed_signature_headers_are_401_never_500(make_hook, bad: dict) -> None:
    hook = make_hook("hmac_sha256")
    response = hook.fire(b"{}", **bad)
    assert (response.status, response.error) == (401, "Unauthorized")


def test_github_mode_signs_the_raw_body_and_uses_the_delivery_id(make_hook, runtime) -> None:
    hook = make_hook("github_hmac")
    body = b'{"action": "opened"}'
    signed = {"X-Hub-Signature-256": "sha256=" + hmac_hex(hook.secret, body)}
    first = hook.fire(body, **signed, **{"X-GitHub-Delivery": "delivery-1"})
    again = hook.fire(body, **signed, **{"X-GitHub-Delivery": "delivery-1"})
    assert first.status == again.status == 202
    assert first.body["id"] == again.body["id"]
    assert first.body["idempotencyKey"] == "delivery-1"
    assert hook.fire(b'{"action": "closed"}', **signed).status == 401


def test_none_mode_needs_no_signature(make_hook) -> None:
    assert make_hook("none").fire(b'{"x": 1}').status == 202


def test_idempotency_key_header_returns_the_first_run(make_hook, runtime) -> None:
    hook = make_hook("none")
    first = hook.fire(b"{}", **{"Idempotency-Key": "evt_1"})
    second = hook.fire(b'{"other": true}', **{"Idempotency-Key": "evt_1"})
    assert first.body["id"] == second.body["id"]
    with runtime.sessions() as session:
        assert len(session.scalars(select(RoutineRun.id)).all()) == 1


def test_rotation_invalidates_the_old_secret_at_once_and_keeps_the_url(make_hook, hook_api) -> None:
    hook = make_hook("bearer")
    rotated = hook_api.ok("POST", f"/api/routine-triggers/{hook.trigger['id']}/rotate-secret")
    material = rotated["secretMaterial"]
    assert material["webhookUrl"] == hook.url
    assert material["webhookSecret"] != hook.secret
    assert rotated["trigger"]["lastRotatedAt"] == "2026-11-23T08:30:00.000Z"
    assert hook.fire(Authorization=f"Bearer {hook.secret}").status == 401
    assert hook.fire(Authorization=f"Bearer {material['webhookSecret']}").status == 202


def test_rotating_a_non_webhook_trigger_is_422(hook_api: Api) -> None:
    world = make_world(hook_api)
    created = hook_api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "api"})
    response = hook_api.post(f"/api/routine-triggers/{created['trigger']['id']}/rotate-secret")
    assert (response.status, response.error) == (422, "Only webhook triggers can rotate secrets")


def test_disabled_trigger_or_paused_routine_is_409_after_the_signature(make_hook, hook_api) -> None:
    hook = make_hook("bearer")
    hook_api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": False})
    assert hook.fire().status == 401, "strangers learn nothing about the state"
    response = hook.fire(Authorization=f"Bearer {hook.secret}")
    assert (response.status, response.error) == (409, "Routine trigger is not active")
    hook_api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": True})
    hook_api.ok("PATCH", f"/api/routines/{hook.routine['id']}", {"status": "paused"})
    assert hook.fire(Authorization=f"Bearer {hook.secret}").status == 409


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"[1, 2]", "application/json", 400),
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b"a=1", "application/x-www-form-urlencoded", 415),
    ],
)
def test_webhook_bodies_must_be_json_objects(make_hook, body, content_type, status) -> None:
    hook = make_hook("none")
    assert hook.fire(body, **{"Content-Type": content_type}).status == status


def test_webhook_body_over_the_limit_is_413(make_hook, runtime) -> None:
    hook = make_hook("none")
    big = b'{"x": "' + b"a" * (runtime.settings.body_limit + 10) + b'"}'
    assert hook.fire(big).status == 413


def test_deleted_trigger_is_404_and_its_secret_is_destroyed(make_hook, hook_api, runtime) -> None:
    hook = make_hook("bearer")
    assert hook_api.delete(f"/api/routine-triggers/{hook.trigger['id']}").status == 204
    assert hook_api.delete(f"/api/routine-triggers/{hook.trigger['id']}").status == 404
    assert hook.fire(Authorization=f"Bearer {hook.secret}").status == 404
    with runtime.sessions() as session:
        assert session.scalars(select(Secret.id)).all() == []


def test_webhook_run_is_decided_by_the_worker(make_hook, drain) -> None:
    hook = make_hook("none")
    run = hook.fire(b'{"x": 1}').body
    drain()
    decided = hook.api.ok("GET", f"/api/routine-runs/{run['id']}")
    assert decided["status"] == "issue_created"
    assert decided["trigger"] == {"id": hook.trigger["id"], "kind": "webhook", "label": None}


def test_a_delivery_refused_while_the_trigger_was_disabled_is_accepted_when_retried(
    make_hook, hook_api
) -> None:
    hook = make_hook("hmac_sha256")
    body = b'{"n": 1}'
    signed = headers(**timestamped(hook.secret, body, NOW))
    hook_api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": False})
    assert hook.fire(body, **signed).status == 409
    hook_api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": True})
    assert hook.fire(body, **signed).status == 202, "a refused delivery was never seen"
    assert hook.fire(body, **signed).error == "Webhook replay detected"


def test_a_delivery_refused_for_its_content_type_is_accepted_when_retried(make_hook) -> None:
    hook = make_hook("hmac_sha256")
    body = b'{"n": 2}'
    signed = headers(**timestamped(hook.secret, body, NOW))
    assert hook.fire(body, **{**signed, "Content-Type": "text/plain"}).status == 415
    assert hook.fire(body, **signed).status == 202


def test_a_delivery_that_failed_on_the_database_is_accepted_when_retried(
    make_hook, runtime: Runtime
) -> None:
    hook = make_hook("hmac_sha256")
    body = b'{"n": 3}'
    signed = headers(**timestamped(hook.secret, body, NOW))
    failures = [OperationalError("INSERT", {}, Exception("server closed the connection"))]

    def database_goes_away(
        _connection: object, _cursor: object, statement: str, *_: object
    ) -> None:
        # The run's insert is the fire's only write, and its own transaction.
        inserting = statement.startswith(
            ("INSERT INTO routine_runs", "EXECUTE routines_insert_run")
        )
        if inserting and failures:
            raise failures.pop()

    event.listen(runtime.autocommit, "before_cursor_execute", database_goes_away)
    try:
        refused = hook.fire(body, **signed)
    finally:
        event.remove(runtime.autocommit, "before_cursor_execute", database_goes_away)
    assert (refused.status, refused.error) == (503, "Database unavailable")
    assert hook.fire(body, **signed).status == 202
    with runtime.sessions() as session:
        assert len(session.scalars(select(RoutineRun.id)).all()) == 1


def test_the_same_signature_on_another_trigger_is_not_a_replay(make_hook) -> None:
    first, second = make_hook("hmac_sha256"), make_hook("hmac_sha256")
    body = b'{"n": 4}'
    assert first.fire(body, **headers(**timestamped(first.secret, body, NOW))).status == 202
    assert second.fire(body, **headers(**timestamped(second.secret, body, NOW))).status == 202


def test_a_new_delivery_answers_with_the_run_as_the_runs_endpoint_shows_it(make_hook) -> None:
    hook = make_hook("none", label="Stripe")
    answer = hook.fire(b'{"x": 1}')
    assert answer.status == 202
    shown = hook.api.ok("GET", f"/api/routine-runs/{answer.body['id']}")
    assert answer.body == shown
    assert answer.body["trigger"] == {
        "id": hook.trigger["id"],
        "kind": "webhook",
        "label": "Stripe",
    }
    assert answer.body["linkedIssue"] is None


def test_a_duplicate_delivery_answers_with_the_first_runs_current_state(make_hook, drain) -> None:
    hook = make_hook("none")
    first = hook.fire(b"{}", **{"Idempotency-Key": "evt_9"})
    drain()
    again = hook.fire(b"{}", **{"Idempotency-Key": "evt_9"})
    assert again.status == 202
    assert again.body == hook.api.ok("GET", f"/api/routine-runs/{first.body['id']}")
    assert again.body["status"] == "issue_created"
    assert again.body["linkedIssue"]["identifier"].endswith("-1")
    assert again.body["trigger"]["id"] == hook.trigger["id"]


def statements_of_a_fire(hook: Hook, runtime: Runtime, body: bytes) -> tuple[list[str], list]:
    """The statements one accepted fire sends, and the commits it makes, on both pools,
    so that nothing can hide on the other one."""
    seen: list[str] = []
    committed: list[object] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement.split("(", 1)[0].strip())

    def commit(connection: object) -> None:
        committed.append(connection)

    for engine in (runtime.engine, runtime.autocommit):
        event.listen(engine, "before_cursor_execute", record)
        event.listen(engine, "commit", commit)
    try:
        assert hook.fire(body, **headers(**timestamped(hook.secret, body, NOW))).status == 202
    finally:
        for engine in (runtime.engine, runtime.autocommit):
            event.remove(engine, "before_cursor_execute", record)
            event.remove(engine, "commit", commit)
    return seen, committed


def test_a_fire_to_a_trigger_the_process_knows_is_one_statement(
    make_hook, runtime: Runtime
) -> None:
    """The insert, which checks the trigger and routine are still what the process read
    (shared.webhooks.hooks), planned once per connection: no look-up, no BEGIN, no
    COMMIT, no read-back."""
    hook = make_hook("hmac_sha256")
    for n in range(2):  # the first looks up, the second prepares the insert
        warm = json.dumps({"warm": n}).encode()
        assert hook.fire(warm, **headers(**timestamped(hook.secret, warm, NOW))).status == 202
    seen, committed = statements_of_a_fire(hook, runtime, b'{"n": 7}')
    assert seen == ["EXECUTE routines_insert_webhook_run"]
    assert committed == []


def test_deciding_runs_does_not_make_the_next_fire_look_up_again(
    make_hook, runtime: Runtime, drain
) -> None:
    """A decision writes the routine's and trigger's bookkeeping (`last_triggered_at`,
    `last_fired_at`), which no delivery depends on: what the process knows still holds."""
    hook = make_hook("hmac_sha256")
    for n in range(2):
        warm = json.dumps({"warm": n}).encode()
        assert hook.fire(warm, **headers(**timestamped(hook.secret, warm, NOW))).status == 202
    drain()
    seen, _ = statements_of_a_fire(hook, runtime, b'{"n": 8}')
    assert seen == ["EXECUTE routines_insert_webhook_run"]


def test_a_fire_to_a_trigger_the_process_does_not_know_is_two_statements(
    make_hook, timed: Runtime
) -> None:
    """The look-up and the insert, each its own transaction and planned once per
    connection (PREPAREd at its first fire)."""
    hook = make_hook("hmac_sha256")
    hook.fire(b'{"warm": 1}', **headers(**timestamped(hook.secret, b'{"warm": 1}', NOW)))
    timed.hooks.forget(hook.trigger["publicId"])  # the runtime the hooks are fired through
    seen, committed = statements_of_a_fire(hook, timed, b'{"n": 7}')
    assert seen == ["EXECUTE routines_webhook_lookup", "EXECUTE routines_insert_run"]
    assert committed == []


def test_fires_go_on_when_the_server_forgot_the_prepared_statements(
    make_hook, runtime: Runtime
) -> None:
    """A pooled connection whose server session lost its prepared statements (DEALLOCATE,
    a pooler handing over another session) prepares them again instead of failing."""
    hook = make_hook("hmac_sha256")
    first = b'{"n": 1}'
    assert hook.fire(first, **headers(**timestamped(hook.secret, first, NOW))).status == 202
    with runtime.autocommit.connect() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")
    second = b'{"n": 2}'
    assert hook.fire(second, **headers(**timestamped(hook.secret, second, NOW))).status == 202
    with runtime.sessions() as session:
        assert len(session.scalars(select(RoutineRun.id)).all()) == 2
