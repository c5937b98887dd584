"""The scheduler's leader lease on a real Redis, a scheduler that does not (or no longer)
hold it, and the plan of the scan the leader runs every tick.

Each lease test uses its own key; TTLs are about a second, so that expiry is observed in
real time without slowing the suite down.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
import redis
from sqlalchemy import event, select

from devstack.api import Api, fire, make_world
from devstack.services import redis_client
from scheduler.lease import AlwaysLeader, RedisLease
from scheduler.loop import RENEW_EVERY, SCAN_BATCH, Scheduler
from shared.models import RoutineTrigger
from shared.platform.broker import DISPATCH_QUEUE, FIRE_SCHEDULES_ACTOR, SCHEDULE_QUEUE
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.schedules.due import due_triggers
from tests.support.clock import FixedClock
from tests.support.schedules import copy_trigger

TTL_MS = 1000
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0 - timedelta(seconds=30)
DEAD_REDIS = "redis://127.0.0.1:1"


@pytest.fixture
def client() -> redis.Redis:
    return redis_client()


@pytest.fixture
def key(client: redis.Redis) -> Iterator[str]:
    name = f"routines-test-lease-{uuid.uuid4().hex[:10]}"
    yield name
    client.delete(name)


def lease(client: redis.Redis, key: str, ttl_ms: int = TTL_MS) -> RedisLease:
    return RedisLease(client, key, ttl_ms=ttl_ms)


def dead_client() -> redis.Redis:
    return redis.Redis.from_url(DEAD_REDIS, socket_timeout=0.5, socket_connect_timeout=0.5)


def test_only_one_of_two_leases_on_the_same_key_holds(client: redis.Redis, key: str) -> None:
    first, second = lease(client, key), lease(client, key)
    assert first.hold() is True
    assert second.hold() is False
    assert client.get(key) == first.owner.encode()


def test_the_holder_renews_and_keeps_the_key_past_its_ttl(client: redis.Redis, key: str) -> None:
    holder, other = lease(client, key), lease(client, key)
    assert holder.hold()
    for _ in range(4):  # 4 x TTL/2 is twice the TTL: only renewal keeps the key
        time.sleep(TTL_MS / 2000)
        assert holder.hold() is True
        assert client.pttl(key) > TTL_MS // 2, "the renewal pushed the expiry out again"
        assert other.hold() is False
    assert client.get(key) == holder.owner.encode()


def test_a_holder_that_stops_renewing_expires_and_the_other_takes_over(
    client: redis.Redis, key: str
) -> None:
    holder, other = lease(client, key), lease(client, key)
    assert holder.hold()
    assert other.hold() is False
    time.sleep(TTL_MS / 1000 + 0.15)
    assert client.exists(key) == 0, "the key expired on its own"
    assert other.hold() is True
    assert client.get(key) == other.owner.encode()
    assert holder.hold() is False, "the old holder finds someone else's lease and stops"
    assert holder.leader is False


def test_release_deletes_the_key_only_for_its_owner(client: redis.Redis, key: str) -> None:
    holder, other = lease(client, key, ttl_ms=10_000), lease(client, key, ttl_ms=10_000)
    assert holder.hold()
    other.release()
    assert client.get(key) == holder.owner.encode(), "a non-owner's release changes nothing"
    assert holder.hold() is True
    holder.release()
    assert client.exists(key) == 0
    assert holder.leader is False
    assert other.hold() is True, "once released, the key is free at once"


def test_a_holder_whose_key_was_deleted_stops_at_the_next_renewal(
    client: redis.Redis, key: str
) -> None:
    holder = lease(client, key, ttl_ms=10_000)
    assert holder.hold()
    client.delete(key)
    assert holder.hold() is False
    assert holder.leader is False
    assert client.exists(key) == 0, "the failed renewal does not recreate the key"


def test_a_holder_whose_key_was_stolen_stops_and_leaves_the_thief_in_place(
    client: redis.Redis, key: str
) -> None:
    holder = lease(client, key, ttl_ms=10_000)
    assert holder.hold()
    client.set(key, "someone-else", px=10_000)
    assert holder.hold() is False
    holder.release()
    assert client.get(key) == b"someone-else"


def test_a_lease_on_a_dead_redis_says_no_and_never_raises() -> None:
    dead = RedisLease(dead_client(), "routines-test-lease-dead", ttl_ms=TTL_MS)
    assert dead.hold() is False
    assert dead.hold() is False
    dead.release()
    assert dead.leader is False


def test_a_holder_that_loses_redis_stops_at_the_next_renewal(client: redis.Redis, key: str) -> None:
    holder = lease(client, key, ttl_ms=10_000)
    assert holder.hold()
    holder.client = dead_client()
    assert holder.hold() is False
    assert holder.leader is False
    holder.release()  # does not raise either


# --- the scheduler loop with a lease it does not (or no longer) holds ---------------------


@dataclass
class ScriptedLease:
    """Answers hold() from a script, then False forever; counts the calls."""

    answers: list[bool]
    calls: int = 0
    released: bool = False

    def hold(self) -> bool:
        self.calls += 1
        return self.answers.pop(0) if self.answers else False

    def release(self) -> None:
        self.released = True


def queued(runtime: Runtime, queue: str) -> int:
    return int(runtime.broker.queues[queue].qsize())  # type: ignore[attr-defined]


def queued_ticks(runtime: Runtime) -> int:
    """Ticks in the queued schedule messages: a page carries many, a single-tick one one."""
    queue = runtime.broker.queues[SCHEDULE_QUEUE]  # type: ignore[attr-defined]
    messages = [dramatiq.Message.decode(raw) for raw in list(queue.queue)]
    return sum(len(m.args[0]) if m.actor_name == FIRE_SCHEDULES_ACTOR else 1 for m in messages)


def add_schedule(api: Api, routine: dict) -> dict:
    body = {"kind": "schedule", "cronExpression": "* * * * *"}
    return api.ok("POST", f"/api/routines/{routine['id']}/triggers", body)["trigger"]


def test_a_scheduler_without_the_lease_neither_scans_nor_sweeps(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    add_schedule(sched_api, world.routine)
    fire(sched_api, world.routine)  # a run left `received`: sweep material
    timed.broker.flush_all()
    clock.advance(minutes=5)  # the tick is due and the run is old enough to sweep
    standby = ScriptedLease([False])
    report = Scheduler(timed, standby).tick()
    assert report.leader is False
    assert (report.enqueued, report.swept) == (0, 0)
    assert queued(timed, SCHEDULE_QUEUE) == queued(timed, DISPATCH_QUEUE) == 0
    # The same state does have work for a leader: the assertions above can fail.
    leader = Scheduler(timed, AlwaysLeader()).tick()
    assert (leader.leader, leader.enqueued, leader.swept) == (True, 1, 1)
    assert queued(timed, SCHEDULE_QUEUE) == queued(timed, DISPATCH_QUEUE) == 1


def test_a_leader_that_fails_to_renew_mid_scan_stops_at_once_and_does_not_sweep(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    copy_trigger(timed, uuid.UUID(add_schedule(sched_api, world.routine)["id"]), SCAN_BATCH + 200)
    fire(sched_api, world.routine)  # a run left `received`: sweep material
    timed.broker.flush_all()
    clock.advance(minutes=5)
    lease = ScriptedLease([True])  # held for the tick, lost at the first renewal
    report = Scheduler(timed, lease).tick()
    assert report.leader is False, "the tick reports the lease as lost"
    assert report.enqueued == RENEW_EVERY, "the first renewal within the page fails: it stops"
    assert report.swept == 0
    assert queued(timed, SCHEDULE_QUEUE) == 1, "one page message"
    assert queued_ticks(timed) == RENEW_EVERY
    assert queued(timed, DISPATCH_QUEUE) == 0
    with timed.sessions() as session:
        due = session.scalars(select(RoutineTrigger.id).where(RoutineTrigger.next_run_at == T0))
        assert len(list(due)) == SCAN_BATCH + 201, "nothing fired: only enqueued"


def test_the_scheduler_loop_releases_the_lease_when_stopped(timed: Runtime) -> None:
    stop = threading.Event()
    stop.set()
    lease = ScriptedLease([])
    Scheduler(timed, lease).run(stop)
    assert lease.released is True


# --- the leader's idle scan ----------------------------------------------------------------


def due_scan_plan(runtime: Runtime) -> str:
    """EXPLAIN of the very SQL due_triggers sends, with sequential scans priced out, so
    that the plan shows whether the partial index can serve the query at all."""
    sent: list[tuple[str, object]] = []

    def capture(_conn: object, _cursor: object, statement: str, parameters: object, *_: object):
        if "routine_triggers" in statement:
            sent.append((statement, parameters))

    event.listen(runtime.engine, "before_cursor_execute", capture)
    try:
        with transaction(runtime.sessions) as session:
            due_triggers(session, now=T0, limit=SCAN_BATCH)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", capture)
    ((statement, parameters),) = sent
    with runtime.engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)  # type: ignore[arg-type]
        return "\n".join(row[0] for row in rows)


def test_the_due_scan_can_use_the_partial_index_on_next_run_at(runtime: Runtime) -> None:
    plan = due_scan_plan(runtime)
    assert "ix_routine_triggers_due" in plan, plan
