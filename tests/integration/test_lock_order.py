"""Row locks follow one order (shared/platform/locks.py), so deciding a run, recording a schedule
tick, editing a routine and moving an issue never deadlock, on real PostgreSQL.

The interleaving that used to deadlock is forced with a pause right after the first lock
a transaction takes; the free-running races then repeat each pairing many times.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg2.errors
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from devstack.api import Api, FlaskTransport, make_world
from shared.contract.bodies import IssuePatch
from shared.models import RoutineRun, RoutineTrigger
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.runs.deciding import dispatch_run
from shared.schedules.due import fire_schedule
from shared.tenancy.auth import ADMIN
from shared.work.issues import update_issue
from tests.integration.test_races import all_at_once
from tests.support.clock import FixedClock
from web.app import create_app

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROUNDS = 40


@dataclass
class Schedule:
    runtime: Runtime
    api: Api
    world: Any
    trigger_id: uuid.UUID

    def next_run_at(self) -> datetime:
        with self.runtime.sessions() as session:
            trigger = session.get(RoutineTrigger, self.trigger_id)
            assert trigger is not None
            assert trigger.next_run_at is not None
            return trigger.next_run_at

    def fire_tick(self) -> list[uuid.UUID]:
        """Record the due tick, as the fire_schedule actor does."""
        due = self.next_run_at()
        with transaction(self.runtime.sessions) as session:
            fired = fire_schedule(
                session, trigger_id=self.trigger_id, due_at=due, now=due + timedelta(seconds=1)
            )
        return list(fired.run_ids)

    def decide(self, run_id: uuid.UUID) -> None:
        with transaction(self.runtime.sessions) as session:
            dispatch_run(session, run_id=run_id, now=T0 + timedelta(days=1))


@pytest.fixture
def schedule(runtime: Runtime) -> Schedule:
    clock = FixedClock(T0 - timedelta(seconds=30))
    timed = replace(runtime, clock=clock)
    api = Api(FlaskTransport(create_app(runtime=timed).test_client()))
    world = make_world(api, concurrencyPolicy="always_enqueue")
    body = {"kind": "schedule", "cronExpression": "* * * * *"}
    created = api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", body)
    return Schedule(timed, api, world, uuid.UUID(created["trigger"]["id"]))


@contextmanager
def pause_after_first_lock(
    runtime: Runtime, thread: threading.Thread | None = None
) -> Iterator[threading.Event]:
    """In the chosen thread (default: the first to lock), sleep after the first row lock of
    the transaction, so the other side takes its own first lock meanwhile."""
    locked = threading.Event()

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        mine = thread is None or threading.current_thread() is thread
        if mine and " FOR " in statement and not locked.is_set():
            locked.set()
            time.sleep(0.3)

    event.listen(runtime.engine, "after_cursor_execute", after)
    try:
        yield locked
    finally:
        event.remove(runtime.engine, "after_cursor_execute", after)


def deadlocked(call: Callable[[], object]) -> bool:
    try:
        call()
    except OperationalError as error:
        if isinstance(error.orig, psycopg2.errors.DeadlockDetected):
            return True
        raise
    return False


def race(*calls: Callable[[], object]) -> int:
    """Run the calls at once; how many of them PostgreSQL killed as deadlocked."""
    return sum(all_at_once(len(calls), lambda index: deadlocked(calls[index])))


def test_deciding_a_run_while_its_schedule_records_the_next_tick_never_deadlocks(
    schedule: Schedule,
) -> None:
    (previous,) = schedule.fire_tick()
    with pause_after_first_lock(schedule.runtime) as locked:
        decider = threading.Thread(target=lambda: schedule.decide(previous))
        decider.start()
        assert locked.wait(5)  # the decider holds the routine's lock now
        assert not deadlocked(schedule.fire_tick)
        decider.join(10)
    assert not decider.is_alive()
    with schedule.runtime.sessions() as session:
        run = session.get(RoutineRun, previous)
        assert run is not None
        assert run.status == "issue_created"
        assert session.scalar(select(RoutineRun.id).where(RoutineRun.status == "received"))


def test_recording_a_tick_while_its_routines_run_is_decided_never_deadlocks(
    schedule: Schedule,
) -> None:
    (previous,) = schedule.fire_tick()
    with pause_after_first_lock(schedule.runtime) as locked:
        recorder = threading.Thread(target=schedule.fire_tick)
        recorder.start()
        assert locked.wait(5)  # the recorder holds the trigger's lock now
        assert not deadlocked(lambda: schedule.decide(previous))
        recorder.join(10)
    assert not recorder.is_alive()


def test_deciding_and_recording_ticks_race_many_times_without_a_deadlock(
    schedule: Schedule,
) -> None:
    (pending,) = schedule.fire_tick()
    deadlocks = 0
    for _ in range(ROUNDS):
        recorded: list[uuid.UUID] = []
        deadlocks += race(
            lambda run_id=pending: schedule.decide(run_id),
            lambda into=recorded: into.extend(schedule.fire_tick()),
        )
        (pending,) = recorded
    assert deadlocks == 0
    with schedule.runtime.sessions() as session:
        statuses = list(session.scalars(select(RoutineRun.status)))
    assert len(statuses) == ROUNDS + 1
    assert statuses.count("issue_created") == ROUNDS


def test_moving_an_issue_editing_the_routine_and_recording_ticks_race_without_a_deadlock(
    schedule: Schedule,
) -> None:
    api, world = schedule.api, schedule.world
    deadlocks = 0
    for round_ in range(ROUNDS // 2):
        (run_id,) = schedule.fire_tick()
        schedule.decide(run_id)
        with schedule.runtime.sessions() as session:
            issue_id = session.scalar(
                select(RoutineRun.linked_issue_id).where(RoutineRun.id == run_id)
            )

        def move_issue(issue: uuid.UUID | None = issue_id) -> None:
            with transaction(schedule.runtime.sessions) as session:
                done = IssuePatch(status="done")
                update_issue(session, ADMIN, issue_id=str(issue), command=done, now=T0)

        def edit_routine(n: int = round_) -> None:
            api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"title": f"Edit {n}"})

        deadlocks += race(move_issue, edit_routine, schedule.fire_tick)
    assert deadlocks == 0
