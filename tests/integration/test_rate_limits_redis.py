"""The public fire rate limits are shared through Redis and answer 429 + Retry-After.

Every request spends its client address's budget; only a delivery whose signature
verified spends its trigger's, so strangers cannot exhaust a real sender's budget.
Behind a proxy (ingress-nginx), the client address is the one the trusted proxy hops
forwarded, never the proxy's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devstack.api import Api, FlaskTransport, make_unsigned_hook, make_world
from devstack.services import REDIS_URL, delete_namespace, new_namespace, truncate_all
from shared.platform.broker import build_broker
from shared.platform.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from web.app import create_app


@contextmanager
def limited_runtime(pg_url: str, **limits: int) -> Iterator[Runtime]:
    namespace = new_namespace()
    settings = settings_for(pg_url, redis_url=REDIS_URL, broker_namespace=namespace, **limits)
    built = build_runtime(settings, broker=build_broker(settings))
    truncate_all(built.engine)
    yield built
    built.close()
    delete_namespace(namespace)


@pytest.fixture
def limited(pg_url: str) -> Iterator[Runtime]:
    with limited_runtime(pg_url, rate_limit_per_trigger=3) as built:
        yield built


@pytest.fixture
def client_limited(pg_url: str) -> Iterator[Runtime]:
    with limited_runtime(pg_url, rate_limit_per_client=3, proxy_hops=1) as built:
        yield built


def webhook_path(api: Api, signing_mode: str = "none") -> tuple[str, str]:
    world = make_world(api)
    created = api.ok(
        "POST",
        f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "webhook", "signingMode": signing_mode},
    )
    material = created["secretMaterial"]
    return material["webhookUrl"].split("3100", 1)[1], material["webhookSecret"]


def through_proxy(runtime: Runtime, proxy: str = "10.0.0.2") -> Api:
    """An app reached through a proxy at `proxy` (what ingress-nginx does)."""
    client = create_app(runtime=runtime).test_client()
    client.environ_base["REMOTE_ADDR"] = proxy
    return Api(FlaskTransport(client), token=None)


def test_two_web_pods_share_one_trigger_limit(limited: Runtime) -> None:
    pods = [Api(FlaskTransport(create_app(runtime=limited).test_client())) for _ in range(2)]
    world = make_world(pods[0])
    path = make_unsigned_hook(pods[0], world.routine)
    statuses = [pods[i % 2].as_(None).post(path, {}).status for i in range(3)]
    assert statuses == [202, 202, 202]
    refused = pods[1].as_(None).post(path, {})
    assert (refused.status, refused.error) == (429, "Rate limit exceeded")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_unknown_triggers_count_against_the_client(client_limited: Runtime) -> None:
    api = through_proxy(client_limited)
    path = "/api/routine-triggers/public/" + "f" * 24 + "/fire"
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    assert [api.post(path, {}, **forwarded).status for _ in range(3)] == [404, 404, 404]
    assert api.post(path, {}, **forwarded).status == 429


def test_unsigned_requests_to_a_known_url_never_spend_the_senders_budget(
    limited: Runtime,
) -> None:
    admin = Api(FlaskTransport(create_app(runtime=limited).test_client()))
    path, secret = webhook_path(admin, "bearer")
    stranger = through_proxy(limited)
    for _ in range(10):
        assert stranger.post(path, {}, X_Forwarded_For="198.51.100.9").status == 401
    sender = through_proxy(limited)
    signed = {"Authorization": f"Bearer {secret}", "X-Forwarded-For": "192.0.2.1"}
    assert [sender.post(path, {}, **signed).status for _ in range(3)] == [202, 202, 202]
    refused = sender.post(path, {}, **signed)
    assert (refused.status, refused.error) == (429, "Rate limit exceeded")


def test_behind_a_proxy_each_forwarded_client_has_its_own_budget(
    client_limited: Runtime,
) -> None:
    admin = Api(FlaskTransport(create_app(runtime=client_limited).test_client()))
    path, _ = webhook_path(admin)
    api = through_proxy(client_limited)
    first = {"X-Forwarded-For": "203.0.113.1"}
    assert [api.post(path, {}, **first).status for _ in range(3)] == [202, 202, 202]
    assert api.post(path, {}, **first).status == 429
    assert api.post(path, {}, X_Forwarded_For="203.0.113.2").status == 202, (
        "another client behind the same proxy is not refused"
    )


def test_a_client_cannot_escape_its_budget_by_forging_forwarded_addresses(
    client_limited: Runtime,
) -> None:
    admin = Api(FlaskTransport(create_app(runtime=client_limited).test_client()))
    path, _ = webhook_path(admin)
    api = through_proxy(client_limited)
    # The proxy appends the address it saw; only that last, trusted hop counts.
    statuses = [
        api.post(path, {}, X_Forwarded_For=f"10.9.9.{n}, 203.0.113.5").status for n in range(4)
    ]
    assert statuses == [202, 202, 202, 429]


def test_without_trusted_hops_the_forwarded_header_is_ignored(pg_url: str) -> None:
    with limited_runtime(pg_url, rate_limit_per_client=2) as runtime:
        admin = Api(FlaskTransport(create_app(runtime=runtime).test_client()))
        path, _ = webhook_path(admin)
        api = through_proxy(runtime, proxy="192.0.2.50")
        statuses = [api.post(path, {}, X_Forwarded_For=f"203.0.113.{n}").status for n in range(3)]
        assert statuses == [202, 202, 429]
