"""The public fire rate limit is shared through Redis and answers 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.broker import build_broker
from shared.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from tests.support.api import Api, FlaskTransport, make_world
from tests.support.services import REDIS_URL, delete_namespace, new_namespace, truncate_all
from web.app import create_app


@pytest.fixture
def limited(pg_url: str) -> Iterator[Runtime]:
    namespace = new_namespace()
    settings = settings_for(
        pg_url, redis_url=REDIS_URL, broker_namespace=namespace, rate_limit_per_trigger=3
    )
    built = build_runtime(settings, broker=build_broker(settings))
    truncate_all(built.engine)
    yield built
    built.engine.dispose()
    delete_namespace(namespace)


def test_two_web_pods_share_one_trigger_limit(limited: Runtime) -> None:
    pods = [Api(FlaskTransport(create_app(runtime=limited).test_client())) for _ in range(2)]
    world = make_world(pods[0])
    created = pods[0].ok(
        "POST", f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "webhook", "signingMode": "none"},
    )  # fmt: skip
    path = created["secretMaterial"]["webhookUrl"].split("3100", 1)[1]
    statuses = [pods[i % 2].as_(None).post(path, {}).status for i in range(3)]
    assert statuses == [202, 202, 202]
    refused = pods[1].as_(None).post(path, {})
    assert (refused.status, refused.error) == (429, "Rate limit exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_unknown_triggers_count_against_the_client_too(limited: Runtime) -> None:
    api = Api(FlaskTransport(create_app(runtime=limited).test_client()), token=None)
    path = "/api/routine-triggers/public/" + "f" * 24 + "/fire"
    assert [api.post(path, {}).status for _ in range(3)] == [404, 404, 404]
    assert api.post(path, {}).status == 429
