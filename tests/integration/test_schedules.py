"""Schedule triggers on PostgreSQL: next run, one run per tick, catch-up, pause rules.

Time is a FixedClock; the scheduler scan and the fire_schedule actor body are called
directly, so a three-minute race runs in seconds.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dramatiq
import pytest
from sqlalchemy import func, select, update

from devstack.api import Api, make_world
from scheduler.loop import Scheduler
from shared.contract.timefmt import iso
from shared.models import RoutineRun, RoutineTrigger
from shared.platform.broker import SCHEDULE_QUEUE
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.schedules.due import due_triggers
from tests.support.clock import FixedClock
from workers.actors import fire_tick

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0 - timedelta(seconds=30)


def add_schedule(api: Api, routine: dict, cron: str = "* * * * *", **fields: object) -> dict:
    body = {"kind": "schedule", "cronExpression": cron, **fields}
    return api.ok("POST", f"/api/routines/{routine['id']}/triggers", body)["trigger"]


def runs_of_trigger(runtime: Runtime, trigger_id: str) -> list[RoutineRun]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(RoutineRun)
                .where(RoutineRun.trigger_id == uuid.UUID(trigger_id))
                .order_by(RoutineRun.scheduled_for)
            )
        )


def fire_due(runtime: Runtime) -> int:
    """What the scheduler and the worker do for one scan, in this thread."""
    with transaction(runtime.sessions) as session:
        due = due_triggers(session, now=runtime.clock.now(), limit=10_000)
    return sum(len(fire_tick(runtime, d.trigger_id, d.due_at).run_ids) for d in due)


def test_schedule_trigger_gets_its_next_run_from_the_clock(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine, "0 9 * * *", timezone="Europe/Amsterdam")
    assert trigger["nextRunAt"] == "2026-11-24T08:00:00.000Z"  # 09:00 CET, tomorrow
    assert trigger["cronExpression"] == "0 9 * * *"
    assert trigger["timezone"] == "Europe/Amsterdam"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cronExpression": "0 0 9 * * 1"},
            'Cron expression must have exactly 5 fields, got 6: "0 0 9 * * 1"',
        ),
        ({"cronExpression": "61 * * * *"}, "Value 61 out of range [0–59] for cron minute field"),  # noqa: RUF001
        (
            {"cronExpression": "* * * * *", "timezone": "Mars/Olympus"},
            "Invalid timezone: Mars/Olympus",
        ),
    ],
)
def test_bad_schedules_are_422_with_the_problem_named(sched_api: Api, fields, message) -> None:
    world = make_world(sched_api)
    body = {"kind": "schedule", **fields}
    response = sched_api.post(f"/api/routines/{world.routine['id']}/triggers", body)
    assert (response.status, response.error) == (422, message)


def test_schedule_needs_defaults_for_required_variables(sched_api: Api) -> None:
    world = make_world(sched_api, title="Report for {{customer}}")
    response = sched_api.post(
        f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "schedule", "cronExpression": "* * * * *"},
    )
    assert (response.status, response.error) == (
        422,
        "Scheduled routines require defaults for required variables: customer",
    )


def test_a_due_tick_records_one_run_and_moves_next_run_at(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    clock.advance(seconds=32)
    assert fire_due(timed) == 1
    (run,) = runs_of_trigger(timed, trigger["id"])
    assert (run.source, run.status, run.scheduled_for) == ("schedule", "received", T0)
    with timed.sessions() as session:
        stored = session.get(RoutineTrigger, uuid.UUID(trigger["id"]))
        assert stored is not None
        assert stored.next_run_at == T0 + timedelta(minutes=1)


def test_a_redelivered_fire_schedule_message_changes_nothing(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    clock.advance(seconds=32)
    first = fire_tick(timed, uuid.UUID(trigger["id"]), T0)
    again = fire_tick(timed, uuid.UUID(trigger["id"]), T0)
    assert len(first.run_ids) == 1
    assert again.run_ids == ()
    assert len(runs_of_trigger(timed, trigger["id"])) == 1


def test_the_tick_index_refuses_a_second_run_for_the_same_tick(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    clock.advance(seconds=32)
    fire_due(timed)
    with transaction(timed.sessions) as session:  # a crash left next_run_at behind
        session.execute(
            update(RoutineTrigger)
            .where(RoutineTrigger.id == uuid.UUID(trigger["id"]))
            .values(next_run_at=T0)
        )
    fire_due(timed)
    assert [r.scheduled_for for r in runs_of_trigger(timed, trigger["id"])] == [T0]


def test_two_schedulers_without_a_lease_give_one_run_per_trigger_and_tick(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    triggers = [add_schedule(sched_api, world.routine)["id"] for _ in range(500)]
    for minute in range(3):
        clock._at = T0 + timedelta(minutes=minute, seconds=2)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def scheduler(barrier: threading.Barrier = barrier, errors: list = errors) -> None:
            try:
                barrier.wait()
                fire_due(timed)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
    with timed.sessions() as session:
        rows = session.execute(select(RoutineRun.trigger_id, RoutineRun.scheduled_for)).all()
    per_tick = Counter(rows)
    assert len(per_tick) == 500 * 3
    assert set(per_tick.values()) == {1}
    assert {str(t) for t, _ in per_tick} == set(triggers)


@pytest.mark.parametrize(
    ("policy", "expected_ticks"),
    [("skip_missed", 0), ("enqueue_missed_with_cap", 3)],
)
def test_catch_up_after_three_missed_hourly_ticks(
    sched_api: Api, timed: Runtime, clock: FixedClock, policy: str, expected_ticks: int
) -> None:
    world = make_world(sched_api, catchUpPolicy=policy)
    trigger = add_schedule(sched_api, world.routine, "0 * * * *")
    assert trigger["nextRunAt"] == "2026-11-23T09:00:00.000Z"
    clock._at = T0 + timedelta(hours=2, minutes=30)  # 09:00, 10:00, 11:00 missed
    fire_due(timed)
    ticks = [r.scheduled_for for r in runs_of_trigger(timed, trigger["id"])]
    assert len(ticks) == expected_ticks
    assert ticks == sorted(ticks)
    with timed.sessions() as session:
        stored = session.get(RoutineTrigger, uuid.UUID(trigger["id"]))
        assert stored is not None
        assert stored.next_run_at == T0 + timedelta(hours=3)


def test_runs_of_one_catch_up_pass_list_in_tick_order_and_the_last_run_is_the_latest_tick(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, catchUpPolicy="enqueue_missed_with_cap")
    trigger = add_schedule(sched_api, world.routine, "0 * * * *")
    clock._at = T0 + timedelta(hours=11, minutes=30)  # twelve ticks, all in one pass
    fire_due(timed)
    runs = sched_api.ok("GET", f"/api/routines/{world.routine['id']}/runs")
    listed = [run["scheduledFor"] for run in runs]
    expected = [iso(T0 + timedelta(hours=h)) for h in range(11, -1, -1)]
    assert listed == expected, "newest tick first, like runs recorded one by one"
    assert len({run["createdAt"] for run in runs}) == 1, "one pass, one recording time"
    (item,) = sched_api.ok("GET", f"/api/companies/{world.company['id']}/routines")
    assert item["lastRun"]["scheduledFor"] == expected[0]
    detail = sched_api.ok("GET", f"/api/routines/{world.routine['id']}")
    assert [run["scheduledFor"] for run in detail["recentRuns"]] == expected
    assert trigger["id"] == runs[0]["triggerId"]


def test_firing_and_deciding_leave_updated_at_alone(
    sched_api: Api, timed: Runtime, clock: FixedClock, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    before = sched_api.ok("GET", f"/api/routines/{world.routine['id']}")
    clock.advance(minutes=3)
    fire_due(timed)
    sched_api.ok("POST", f"/api/routines/{world.routine['id']}/run", {})
    drain()
    after = sched_api.ok("GET", f"/api/routines/{world.routine['id']}")
    assert after["lastTriggeredAt"] is not None
    assert after["lastEnqueuedAt"] is not None
    assert after["updatedAt"] == before["updatedAt"], "updatedAt means edited"
    (shown,) = after["triggers"]
    assert shown["lastFiredAt"] is not None
    assert shown["updatedAt"] == trigger["updatedAt"]
    company = sched_api.ok("GET", f"/api/companies/{world.company['id']}")
    assert company["updatedAt"] == world.company["updatedAt"], "numbering an issue is no edit"


def test_paused_project_records_skipped_paused_and_backfills_nothing(
    sched_api: Api, timed: Runtime, clock: FixedClock, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    sched_api.ok("POST", f"/api/projects/{world.project['id']}/pause", {})
    clock.advance(seconds=32)
    fire_due(timed)
    drain()
    (run,) = runs_of_trigger(timed, trigger["id"])
    assert (run.status, run.failure_reason) == ("skipped", "paused")
    sched_api.ok("POST", f"/api/projects/{world.project['id']}/resume")
    clock.advance(seconds=60)
    fire_due(timed)
    drain()
    runs = runs_of_trigger(timed, trigger["id"])
    assert [r.scheduled_for for r in runs] == [T0, T0 + timedelta(minutes=1)]
    assert runs[1].status == "issue_created"


def test_paused_routine_is_not_scanned_and_restarts_from_now(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    sched_api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "paused"})
    clock.advance(minutes=10)
    assert fire_due(timed) == 0
    resumed_at = clock.now()
    sched_api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "active"})
    detail = sched_api.ok("GET", f"/api/routines/{world.routine['id']}")
    next_run = datetime.fromisoformat(detail["triggers"][0]["nextRunAt"])
    assert resumed_at < next_run <= resumed_at + timedelta(minutes=1)
    assert runs_of_trigger(timed, trigger["id"]) == []


def test_disabled_then_enabled_trigger_restarts_from_now(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine)
    sched_api.ok("PATCH", f"/api/routine-triggers/{trigger['id']}", {"enabled": False})
    clock.advance(minutes=10)
    assert fire_due(timed) == 0
    enabled = sched_api.ok("PATCH", f"/api/routine-triggers/{trigger['id']}", {"enabled": True})
    assert datetime.fromisoformat(enabled["nextRunAt"]) > clock.now()


def test_scheduler_scan_enqueues_each_due_tick_once_until_it_is_stale(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api)
    for _ in range(3):
        add_schedule(sched_api, world.routine)
    clock.advance(seconds=32)
    scheduler = Scheduler(timed)
    assert scheduler.scan() == 3
    assert scheduler.scan() == 0, "already enqueued, not again on every scan"
    with timed.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RoutineRun)) == 0


def consume_schedule_messages(runtime: Runtime) -> list[tuple[str, str]]:
    """What a worker that starts now does with the queued fire_schedule messages, in
    queue order, with the test's clock: returns the (trigger, due) of each message."""
    queue = runtime.broker.queues[SCHEDULE_QUEUE]  # type: ignore[attr-defined]
    consumed = []
    while not queue.empty():
        message = dramatiq.Message.decode(queue.get_nowait())
        trigger_id, due_at = message.args[:2]
        fire_tick(runtime, uuid.UUID(trigger_id), datetime.fromisoformat(due_at))
        consumed.append((trigger_id, due_at))
    return consumed


def test_after_a_worker_outage_skip_missed_fires_only_the_latest_tick(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, catchUpPolicy="skip_missed")
    trigger = add_schedule(sched_api, world.routine)
    scheduler = Scheduler(timed)
    clock.advance(seconds=32)
    for _ in range(120):  # two hours of scans while no worker consumes anything
        scheduler.tick()
        clock.advance(minutes=1)
    consumed = consume_schedule_messages(timed)
    assert consumed[0] == (trigger["id"], iso(T0)), "the oldest queued tick comes first"
    latest = T0 + timedelta(minutes=120)
    assert clock.now() - latest < timedelta(seconds=60)
    ticks = [r.scheduled_for for r in runs_of_trigger(timed, trigger["id"])]
    assert ticks == [latest], "a tick that waited two hours in our queue is missed"


def test_a_tick_that_waited_longer_than_the_grace_in_our_own_queue_is_missed(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, catchUpPolicy="skip_missed")
    trigger = add_schedule(sched_api, world.routine, cron="0 * * * *")
    clock.advance(seconds=32)  # the scheduler finds T0 due on time...
    assert Scheduler(timed).scan() == 1
    clock.advance(minutes=5)  # ...and its message sits behind stopped workers
    consume_schedule_messages(timed)
    assert runs_of_trigger(timed, trigger["id"]) == []
    with timed.sessions() as session:
        moved = session.get(RoutineTrigger, uuid.UUID(trigger["id"]))
        assert moved is not None
        assert moved.next_run_at == T0 + timedelta(hours=1)


def test_a_tick_that_waited_less_than_the_grace_is_fired_late(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, catchUpPolicy="skip_missed")
    trigger = add_schedule(sched_api, world.routine, cron="0 * * * *")
    clock.advance(seconds=32)
    assert Scheduler(timed).scan() == 1
    clock.advance(seconds=50)
    consume_schedule_messages(timed)
    assert [r.scheduled_for for r in runs_of_trigger(timed, trigger["id"])] == [T0]


def test_a_tick_five_minutes_old_is_missed_under_skip_missed(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    world = make_world(sched_api, catchUpPolicy="skip_missed")
    trigger = add_schedule(sched_api, world.routine)
    clock.advance(minutes=5)
    fired = fire_tick(timed, uuid.UUID(trigger["id"]), T0)
    ticks = [r.scheduled_for for r in runs_of_trigger(timed, trigger["id"])]
    assert T0 not in ticks, "a stale tick is never fired under skip_missed"
    assert ticks == [T0 + timedelta(minutes=4)], "only the one within the grace"
    assert fired.missed == 4
