"""Pages of schedule ticks on SQLite (the embedded mode): the same code path as on
PostgreSQL, the multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING included."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from sqlalchemy import select

from devstack.api import Api, make_world
from scheduler.loop import Scheduler
from shared.models import RoutineRun, RoutineTrigger
from shared.platform.broker import FIRE_SCHEDULES_ACTOR, SCHEDULE_QUEUE
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.schedules.due import due_triggers
from tests.support.clock import FixedClock
from workers.actors import fire_page, register

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0 - timedelta(seconds=30)


@pytest.fixture
def runtime(runtime: Runtime) -> Runtime:
    """This folder's SQLite runtime, with the actors registered on its broker."""
    register(runtime)
    return runtime


def schedules(api: Api, count: int, **routine_fields: object) -> list[uuid.UUID]:
    world = make_world(api, **routine_fields)
    body = {"kind": "schedule", "cronExpression": "0 * * * *"}
    return [
        uuid.UUID(
            api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", body)["trigger"]["id"]
        )
        for _ in range(count)
    ]


def ticks(runtime: Runtime) -> Counter[tuple[uuid.UUID | None, datetime | None]]:
    with runtime.sessions() as session:
        rows = session.execute(select(RoutineRun.trigger_id, RoutineRun.scheduled_for)).all()
    return Counter((row[0], row[1]) for row in rows)


def test_a_page_delivered_twice_records_one_run_per_tick_on_sqlite(
    api: Api, runtime: Runtime, clock: FixedClock
) -> None:
    triggers = schedules(api, 12, concurrencyPolicy="always_enqueue")
    clock.advance(seconds=32)
    with transaction(runtime.sessions) as session:
        page = due_triggers(session, now=clock.now(), limit=100)
    assert len(fire_page(runtime, page).run_ids) == 12
    assert fire_page(runtime, page).run_ids == []
    assert ticks(runtime) == Counter({(t, T0): 1 for t in triggers})
    with runtime.sessions() as session:
        moved = set(session.scalars(select(RoutineTrigger.next_run_at)))
    assert moved == {T0 + timedelta(hours=1)}


def test_catch_up_and_the_tick_index_hold_on_sqlite(
    api: Api, runtime: Runtime, clock: FixedClock
) -> None:
    (catching,) = schedules(api, 1, catchUpPolicy="enqueue_missed_with_cap")
    (skipping,) = schedules(api, 1, catchUpPolicy="skip_missed")
    clock._at = T0 + timedelta(hours=2, minutes=30)
    with transaction(runtime.sessions) as session:
        page = due_triggers(session, now=clock.now(), limit=100)
    fired = fire_page(runtime, page)
    hours = tuple(T0 + timedelta(hours=h) for h in range(3))
    assert fired.fired[catching].ticks == hours
    assert (fired.fired[skipping].ticks, fired.fired[skipping].missed) == ((), 3)
    assert set(ticks(runtime)) == {(catching, tick) for tick in hours}


def test_the_embedded_scheduler_s_page_message_is_recorded_on_sqlite(
    api: Api, runtime: Runtime, clock: FixedClock
) -> None:
    triggers = schedules(api, 5)
    clock.advance(seconds=32)
    assert Scheduler(runtime).scan() == 5
    queue = runtime.broker.queues[SCHEDULE_QUEUE]  # type: ignore[attr-defined]
    (message,) = [dramatiq.Message.decode(raw) for raw in list(queue.queue)]
    assert message.actor_name == FIRE_SCHEDULES_ACTOR
    runtime.broker.actors[FIRE_SCHEDULES_ACTOR].fn(*message.args)  # type: ignore[attr-defined]
    assert ticks(runtime) == Counter({(t, T0): 1 for t in triggers})
