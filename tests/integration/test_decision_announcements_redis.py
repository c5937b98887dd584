"""Decisions announced by a worker reach the web pods' waiters through Redis."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from devstack.services import delete_namespace, new_namespace, redis_client
from shared.runs.waiting import RedisDecisionBoard


@pytest.fixture
def namespace() -> Iterator[str]:
    name = new_namespace()
    yield name
    delete_namespace(name)


def test_a_decision_announced_by_a_worker_wakes_a_waiter_in_another_process(
    namespace: str,
) -> None:
    web = RedisDecisionBoard(redis_client(), namespace, max_waiters=2)
    worker = RedisDecisionBoard(redis_client(), namespace, max_waiters=0)
    run_id, decided, reads = uuid.uuid4(), threading.Event(), []

    def undecided() -> bool:
        reads.append(1)
        return not decided.is_set()

    waited: list[bool | None] = []
    waiter = threading.Thread(target=lambda: waited.append(web.wait(run_id, 20, undecided)))
    waiter.start()
    subscribed = redis_client()
    while subscribed.pubsub_numsub(web.channel)[0][1] == 0:
        time.sleep(0.01)
    decided.set()
    worker.announce([uuid.uuid4(), run_id])
    waiter.join(10)
    assert waited == [True]
    assert len(reads) <= 3


def test_an_announcement_with_redis_away_is_swallowed() -> None:
    import redis

    away = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    RedisDecisionBoard(away, "nowhere", max_waiters=1).announce([uuid.uuid4()])
