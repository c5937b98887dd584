"""A stopping worker gives back at once what its Redis consumer fetched but never handed
to a thread (shared.platform.broker.PrefetchReturningConsumer), instead of leaving it in
the ack set until the heartbeat timeout. Real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest

from devstack.services import REDIS_URL, delete_namespace, new_namespace, redis_client
from shared.platform.broker import DISPATCH_MANY_ACTOR, DISPATCH_QUEUE, build_broker
from tests.conftest import settings_for

QUEUED = 5


@pytest.fixture
def broker(pg_url: str) -> Iterator[dramatiq.Broker]:
    redis_client()
    namespace = new_namespace()
    built = build_broker(settings_for(pg_url, redis_url=REDIS_URL, broker_namespace=namespace))
    yield built
    built.close()
    delete_namespace(namespace)


def test_a_closed_consumer_gives_back_what_it_fetched_but_never_handed_out(
    broker: dramatiq.Broker,
) -> None:
    for n in range(QUEUED):
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=DISPATCH_QUEUE,
            actor_name=DISPATCH_MANY_ACTOR,
            args=([f"run-{n}"],),
            kwargs={},
            options={},
        )
        broker.enqueue(message)
    consumer = broker.consume(DISPATCH_QUEUE, prefetch=QUEUED, timeout=100)
    handed_out = next(consumer)  # one fetch takes all five into the ack set
    assert handed_out is not None
    consumer.close()

    client = redis_client()
    namespace = broker.namespace  # type: ignore[attr-defined]
    acks = sum(int(client.scard(key)) for key in client.scan_iter(f"{namespace}:__acks__.*"))
    assert acks == 1, "only the message a thread holds stays unacknowledged"
    assert int(client.llen(f"{namespace}:{DISPATCH_QUEUE}")) == QUEUED - 1
