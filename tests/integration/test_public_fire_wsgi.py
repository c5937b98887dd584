"""The public fire answered without Flask (web.public_fire) tells every client exactly
what the Flask view tells it: same statuses, bodies, headers, metrics, on real
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from devstack.api import Api, make_world
from shared.platform.metrics import HTTP_REQUESTS
from shared.platform.runtime import Runtime
from web.app import create_app
from web.public_fire import ROUTE, PublicFire

#: Fields of a run that differ between two fires of the same delivery.
PER_RUN = {"id", "createdAt", "updatedAt", "triggeredAt"}


class Trigger:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.routine = make_world(api).routine
        created = api.ok(
            "POST", f"/api/routines/{self.routine['id']}/triggers", {"kind": "webhook"}
        )
        self.path = created["secretMaterial"]["webhookUrl"].split("127.0.0.1:3100", 1)[1]
        self.secret: str = created["secretMaterial"]["webhookSecret"]


@pytest.fixture
def trigger(api: Api) -> Trigger:
    return Trigger(api)


def flask_only(runtime: Runtime) -> Flask:
    app = create_app(runtime=runtime)
    assert isinstance(app.wsgi_app, PublicFire)
    app.wsgi_app = app.wsgi_app.downstream  # type: ignore[method-assign]
    return app


def answer(client: Any, path: str, body: bytes, **headers: str) -> tuple[int, Any, dict[str, str]]:
    response = client.post(path, data=body, headers=headers)
    return response.status_code, response.get_json(silent=True), dict(response.headers)


def same(fast: tuple[int, Any, dict[str, str]], slow: tuple[int, Any, dict[str, str]]) -> None:
    (status, body, headers), (slow_status, slow_body, slow_headers) = fast, slow
    assert status == slow_status
    if isinstance(body, dict) and "id" in body:
        body = {k: v for k, v in body.items() if k not in PER_RUN}
        slow_body = {k: v for k, v in slow_body.items() if k not in PER_RUN}
    assert body == slow_body
    for name in ("Content-Type", "Retry-After", "Accept-Post"):
        assert headers.get(name) == slow_headers.get(name), name
    assert headers["X-Request-Id"]
    assert slow_headers["X-Request-Id"]
    assert int(headers["Content-Length"]) > 0


@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    [
        ("accepted", b'{"n": 1}', "application/json"),
        ("wrong secret", b'{"n": 1}', "application/json"),
        ("unknown trigger", b'{"n": 1}', "application/json"),
        ("malformed body", b'{"n": ', "application/json"),
        ("not an object", b"[1]", "application/json"),
        ("not json", b"n=1", "text/plain"),
        ("no body", b"", ""),
    ],
)
def test_each_answer_is_the_flask_views_answer(
    case: str, body: bytes, content_type: str, trigger: Trigger, runtime: Runtime
) -> None:
    secret = "wrong" if case == "wrong secret" else trigger.secret
    path = trigger.path
    if case == "unknown trigger":
        path = path.replace(path.split("/")[-2], "0" * 24)
    headers = {"Authorization": f"Bearer {secret}"}
    if content_type:
        headers["Content-Type"] = content_type
    fast = answer(create_app(runtime=runtime).test_client(), path, body, **headers)
    slow = answer(flask_only(runtime).test_client(), path, body, **headers)
    same(fast, slow)
    if case == "accepted":
        assert fast[0] == 202
        assert fast[1]["id"] != slow[1]["id"]


def test_a_paused_routine_and_a_repeated_key_answer_alike(
    trigger: Trigger, api: Api, runtime: Runtime
) -> None:
    fast, slow = create_app(runtime=runtime).test_client(), flask_only(runtime).test_client()
    auth = {"Authorization": f"Bearer {trigger.secret}", "Content-Type": "application/json"}
    first = answer(fast, trigger.path, b"{}", **auth, **{"Idempotency-Key": "k1"})
    assert first[0] == 202
    repeated = answer(fast, trigger.path, b"{}", **auth, **{"Idempotency-Key": "k1"})
    same(repeated, answer(slow, trigger.path, b"{}", **auth, **{"Idempotency-Key": "k1"}))
    assert repeated[1]["id"] == first[1]["id"]
    api.ok("PATCH", f"/api/routines/{trigger.routine['id']}", {"status": "paused"})
    paused = answer(fast, trigger.path, b"{}", **auth)
    same(paused, answer(slow, trigger.path, b"{}", **auth))
    assert paused[0] == 409


def test_the_fire_never_reaches_flask_and_is_counted_by_its_route(
    trigger: Trigger, runtime: Runtime
) -> None:
    def flask(_environ: object, _start_response: object) -> list[bytes]:
        raise AssertionError("the fire went to Flask")

    app = create_app(runtime=runtime)
    client = Client(PublicFire(app, flask))
    counted = HTTP_REQUESTS.labels(ROUTE, "POST", "202")
    before = counted._value.get()
    response = client.post(
        trigger.path,
        data=b'{"n": 2}',
        headers={
            "Authorization": f"Bearer {trigger.secret}",
            "Content-Type": "application/json",
            "X-Request-Id": "abc-123",
        },
    )
    assert response.status_code == 202
    assert response.headers["X-Request-Id"] == "abc-123"
    assert response.get_json()["status"] == "received"
    assert counted._value.get() == before + 1


def test_bodies_the_fast_path_does_not_read_go_to_the_flask_view(
    trigger: Trigger, runtime: Runtime
) -> None:
    """A chunked body, and one longer than the limit (which Flask refuses with 413)."""
    app = create_app(runtime=runtime)
    assert isinstance(app.wsgi_app, PublicFire)
    seen: list[str] = []

    def flask(environ: Any, start_response: Any) -> Any:
        seen.append(environ.get("HTTP_TRANSFER_ENCODING") or environ["CONTENT_LENGTH"])
        return app.wsgi_app.downstream(environ, start_response)  # type: ignore[attr-defined]

    client = Client(PublicFire(app, flask))
    auth = {"Authorization": f"Bearer {trigger.secret}", "Content-Type": "application/json"}
    client.post(trigger.path, data=b"{}", headers={**auth, "Transfer-Encoding": "chunked"})
    too_large = client.post(
        trigger.path, data=b" " * (runtime.settings.body_limit + 1), headers=auth
    )
    assert seen == ["chunked", str(runtime.settings.body_limit + 1)]
    assert too_large.status_code == 413
    assert too_large.get_json() == {"error": "Request body too large"}
