"""Pages of schedule ticks on PostgreSQL: one transaction records many triggers' ticks,
exactly one run per tick however often or concurrently a page is delivered.

Time is a FixedClock; pages are recorded by calling the worker's page function directly.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
from sqlalchemy import select, update

from devstack.api import Api, make_world
from scheduler.loop import PAGE_TICKS, Scheduler
from shared.contract.timefmt import iso
from shared.models import Routine, RoutineRun, RoutineTrigger
from shared.platform.broker import FIRE_SCHEDULE_ACTOR, FIRE_SCHEDULES_ACTOR, SCHEDULE_QUEUE
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.schedules.due import Due, due_triggers, record_page
from tests.integration.test_races import all_at_once
from tests.support.clock import FixedClock
from tests.support.schedules import copy_trigger
from tests.support.statements import statements_sent
from workers.actors import fire_page

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0 - timedelta(seconds=30)


def add_schedule(api: Api, routine: dict, cron: str = "* * * * *") -> uuid.UUID:
    body = {"kind": "schedule", "cronExpression": cron}
    created = api.ok("POST", f"/api/routines/{routine['id']}/triggers", body)
    return uuid.UUID(created["trigger"]["id"])


def due_page(runtime: Runtime) -> list[Due]:
    with transaction(runtime.sessions) as session:
        return due_triggers(session, now=runtime.clock.now(), limit=10_000)


def ticks_per_trigger(runtime: Runtime) -> Counter[tuple[uuid.UUID | None, datetime | None]]:
    with runtime.sessions() as session:
        rows = session.execute(select(RoutineRun.trigger_id, RoutineRun.scheduled_for)).all()
    return Counter((row[0], row[1]) for row in rows)


def next_run(runtime: Runtime, trigger_id: uuid.UUID) -> datetime | None:
    with runtime.sessions() as session:
        trigger = session.get(RoutineTrigger, trigger_id)
        assert trigger is not None
        return trigger.next_run_at


def test_a_page_records_exactly_one_run_per_tick_and_moves_every_trigger(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    first = add_schedule(sched_api, world.routine)
    triggers = [first, *copy_trigger(timed, first, 39)]
    clock.advance(seconds=32)
    page = due_page(timed)
    assert len(page) == 40
    fired = fire_page(timed, page)
    assert len(fired.run_ids) == 40
    per_tick = ticks_per_trigger(timed)
    assert per_tick == Counter({(t, T0): 1 for t in triggers})
    assert {next_run(timed, t) for t in triggers} == {T0 + timedelta(minutes=1)}


def test_the_same_page_delivered_twice_records_each_tick_once(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    first = add_schedule(sched_api, world.routine)
    copy_trigger(timed, first, 19)
    clock.advance(seconds=32)
    page = due_page(timed)
    assert len(fire_page(timed, page).run_ids) == 20
    again = fire_page(timed, page)
    assert again.run_ids == []
    assert again.fired == {}, "every trigger moved on: a late duplicate does nothing"
    assert set(ticks_per_trigger(timed).values()) == {1}


def test_two_workers_racing_overlapping_pages_record_one_run_per_tick_without_deadlock(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    first = add_schedule(sched_api, world.routine)
    triggers = [first, *copy_trigger(timed, first, 119)]
    for minute in range(3):
        clock._at = T0 + timedelta(minutes=minute, seconds=2)
        page = due_page(timed)
        assert len(page) == 120
        # Overlapping pages in opposite orders: the locks are still taken in id order.
        pages = [page[:80], list(reversed(page[40:])), page]
        errors: list[BaseException] = []

        def record(index: int, pages: list[list[Due]] = pages, errors: list = errors) -> int:
            try:
                return len(fire_page(timed, pages[index]).run_ids)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)
                return -1

        recorded = all_at_once(len(pages), record)
        assert errors == []
        assert sum(recorded) == 120, "each tick recorded by exactly one of the workers"
    per_tick = ticks_per_trigger(timed)
    assert len(per_tick) == 120 * 3
    assert set(per_tick.values()) == {1}
    assert {t for t, _ in per_tick} == set(triggers)


def test_a_trigger_disabled_or_rescheduled_between_scan_and_record_is_skipped(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    kept, disabled, rescheduled = (add_schedule(sched_api, world.routine) for _ in range(3))
    clock.advance(seconds=32)
    page = due_page(timed)
    sched_api.ok("PATCH", f"/api/routine-triggers/{disabled}", {"enabled": False})
    sched_api.ok("PATCH", f"/api/routine-triggers/{rescheduled}", {"cronExpression": "0 * * * *"})
    fired = fire_page(timed, page)
    assert set(fired.fired) == {kept}
    assert ticks_per_trigger(timed) == Counter({(kept, T0): 1})
    assert next_run(timed, rescheduled) == T0 + timedelta(hours=1), "left as the edit set it"


def test_a_routine_paused_between_scan_and_record_has_its_ticks_skipped(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    active, paused = make_world(sched_api), make_world(sched_api)
    kept, left = add_schedule(sched_api, active.routine), add_schedule(sched_api, paused.routine)
    clock.advance(seconds=32)
    page = due_page(timed)
    sched_api.ok("PATCH", f"/api/routines/{paused.routine['id']}", {"status": "paused"})
    assert set(fire_page(timed, page).fired) == {kept}
    assert (left, T0) not in ticks_per_trigger(timed)


def test_each_routine_s_catch_up_policy_applies_within_one_page(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    skipping = make_world(sched_api, catchUpPolicy="skip_missed")
    catching = make_world(sched_api, catchUpPolicy="enqueue_missed_with_cap")
    skip = add_schedule(sched_api, skipping.routine, "0 * * * *")
    catch = add_schedule(sched_api, catching.routine, "0 * * * *")
    on_time = add_schedule(sched_api, skipping.routine, "30 11 * * *")
    clock._at = T0 + timedelta(hours=2, minutes=30, seconds=20)  # 09, 10, 11:00 missed
    page = due_page(timed)
    assert {due.trigger_id for due in page} == {skip, catch, on_time}
    fired = fire_page(timed, page)
    hours = [T0 + timedelta(hours=h) for h in range(3)]
    assert (fired.fired[skip].ticks, fired.fired[skip].missed) == ((), 3)
    assert (fired.fired[catch].ticks, fired.fired[catch].caught_up) == (tuple(hours), 3)
    assert fired.fired[on_time].ticks == (T0 + timedelta(hours=2, minutes=30),)
    assert {next_run(timed, t) for t in (skip, catch)} == {T0 + timedelta(hours=3)}


def test_a_tick_whose_required_variables_have_no_default_is_recorded_and_fails(
    sched_api: Api, timed: Runtime, clock: FixedClock, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    variables = [{"name": "customer", "type": "text", "required": True, "defaultValue": None}]
    with transaction(timed.sessions) as session:  # data from before the rule, say
        session.execute(
            update(Routine)
            .where(Routine.id == uuid.UUID(world.routine["id"]))
            .values(variables=variables)
        )
    clock.advance(seconds=32)
    (run_id,) = fire_page(timed, due_page(timed)).run_ids
    drain()
    with timed.sessions() as session:
        run = session.get(RoutineRun, run_id)
        assert run is not None
        assert (run.trigger_id, run.status) == (trigger, "failed")
        assert run.failure_reason == "Missing routine variables: customer"


def test_statements_per_page_do_not_grow_with_the_page(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    small, large = make_world(sched_api), make_world(sched_api)
    few = add_schedule(sched_api, small.routine)
    many = add_schedule(sched_api, large.routine)
    copy_trigger(timed, few, 2)
    copy_trigger(timed, many, 299)
    clock.advance(seconds=32)
    page = due_page(timed)
    by_size = []
    for routine_id in (small.routine["id"], large.routine["id"]):
        with timed.sessions() as session:
            mine = set(
                session.scalars(
                    select(RoutineTrigger.id).where(
                        RoutineTrigger.routine_id == uuid.UUID(routine_id)
                    )
                )
            )
        part = [due for due in page if due.trigger_id in mine]
        with statements_sent(timed) as sent, transaction(timed.sessions) as session:
            recorded = record_page(session, page=part, now=timed.clock.now())
        assert len(recorded.run_ids) == len(part)
        by_size.append(len(sent))
    assert by_size[0] == by_size[1], f"3 and 300 triggers: {by_size} statements"
    assert by_size[1] <= 4, "lock the triggers, read the routines, insert, update"


def queued_messages(runtime: Runtime) -> list[dramatiq.Message[Any]]:
    queue = runtime.broker.queues[SCHEDULE_QUEUE]  # type: ignore[attr-defined]
    return [dramatiq.Message.decode(raw) for raw in list(queue.queue)]


def test_the_scheduler_enqueues_due_ticks_in_pages(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    first = add_schedule(sched_api, world.routine)
    triggers = {first, *copy_trigger(timed, first, PAGE_TICKS * 2 + 49)}
    clock.advance(seconds=32)
    assert Scheduler(timed).scan() == len(triggers)
    messages = queued_messages(timed)
    assert [m.actor_name for m in messages] == [FIRE_SCHEDULES_ACTOR] * 3
    assert [len(m.args[0]) for m in messages] == [PAGE_TICKS, PAGE_TICKS, 49 + 1]
    pairs = [tuple(pair) for m in messages for pair in m.args[0]]
    assert {uuid.UUID(t) for t, _ in pairs} == triggers
    assert {due for _, due in pairs} == {iso(T0)}


def test_a_page_message_is_recorded_by_the_worker_actor(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    first = add_schedule(sched_api, world.routine)
    copy_trigger(timed, first, 9)
    clock.advance(seconds=32)
    Scheduler(timed).scan()
    (message,) = queued_messages(timed)
    timed.broker.actors[FIRE_SCHEDULES_ACTOR].fn(*message.args)  # type: ignore[attr-defined]
    assert len(ticks_per_trigger(timed)) == 10
    assert FIRE_SCHEDULE_ACTOR in timed.broker.actors, "single-tick messages still handled"  # type: ignore[attr-defined]
