"""Schedules across real processes: gunicorn, a dramatiq worker and two leased schedulers.

Real wall-clock minutes: a `* * * * *` trigger fires once per minute, so the test waits
for up to two minute boundaries (about two minutes in all).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from devstack.api import Api, HttpTransport, make_world
from devstack.processes import (
    Process,
    free_port,
    running,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from tests.e2e.conftest import Stack

TRIGGERS = 20
ACQUIRED = "acquired the scheduler lease"
#: After the minute, every tick must be recorded and decided within this many seconds.
FIRE_WITHIN = 10.0
#: A standby must take the lease over within this many seconds of the leader's SIGKILL.
TAKEOVER_WITHIN = 10.0
#: Triggers are created at least this long before the minute they are due at.
LEAD_TIME = 5.0


@contextmanager
def dispose(engine: Engine) -> Iterator[None]:
    try:
        yield
    finally:
        engine.dispose()


def acquired(process: Process) -> bool:
    """The scheduler logged (a JSON line on stderr) that it took the leader lease."""
    return any(ACQUIRED in line for line in process.output().splitlines())


def next_minute(after: datetime) -> datetime:
    return after.replace(second=0, microsecond=0) + timedelta(minutes=1)


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def seconds_until(moment: datetime) -> float:
    """At least a moment, so that a deadline already passed still gets one look."""
    return max(0.2, (moment - datetime.now(UTC)).total_seconds())


def ticks(engine: Engine) -> list[tuple[str, datetime, str, bool]]:
    """(trigger, scheduledFor, status, whether its issue exists and points back) per run."""
    query = text(
        """
        SELECT r.trigger_id::text, r.scheduled_for, r.status,
               (i.id IS NOT NULL AND i.origin_run_id = r.id) AS has_issue
        FROM routine_runs r LEFT JOIN issues i ON i.id = r.linked_issue_id
        WHERE r.source = 'schedule'
        """
    )
    with engine.connect() as connection:
        return [
            (trigger, scheduled.astimezone(UTC), status, has_issue)
            for trigger, scheduled, status, has_issue in connection.execute(query)
        ]


def all_fired(engine: Engine, triggers: list[str], minutes: list[datetime]) -> bool:
    done = {(t, s) for t, s, status, has_issue in ticks(engine) if status == "issue_created"}
    return all((t, m) in done for t in triggers for m in minutes)


def assert_one_issue_per_trigger_and_tick(
    engine: Engine, triggers: list[str], minutes: list[datetime]
) -> None:
    rows = ticks(engine)
    per_tick = Counter((t, s) for t, s, _, _ in rows)
    assert per_tick == Counter({(t, m): 1 for t in triggers for m in minutes}), (
        "exactly one run per trigger and tick, no tick lost, none doubled, none extra"
    )
    assert {(status, has_issue) for _, _, status, has_issue in rows} == {("issue_created", True)}


def test_two_leased_schedulers_fire_each_minute_once_and_the_standby_survives_a_kill_9(
    stack: Stack,
) -> None:
    env = {**stack.env, "ROUTINES_SCHEDULER_INTERVAL_SECONDS": "0.5"}
    port = free_port()
    engine = create_engine(stack.database_url)
    web = start_web(env, stack.log_dir, port=port)
    with running(web), dispose(engine):
        worker = start_worker(env, stack.log_dir, threads=4)
        schedulers = [start_scheduler(env, stack.log_dir, name=f"scheduler-{n}") for n in (1, 2)]
        with running(worker, *schedulers):
            wait_for(
                lambda: any(acquired(s) for s in schedulers), timeout=20, what="a lease holder"
            )
            api = Api(HttpTransport(f"http://127.0.0.1:{port}"))
            if next_minute(datetime.now(UTC)) - datetime.now(UTC) < timedelta(seconds=LEAD_TIME):
                sleep_until(next_minute(datetime.now(UTC)) + timedelta(seconds=1))
            world = make_world(api, concurrencyPolicy="always_enqueue")
            created = [
                api.ok(
                    "POST",
                    f"/api/routines/{world.routine['id']}/triggers",
                    {"kind": "schedule", "cronExpression": "* * * * *"},
                )["trigger"]
                for _ in range(TRIGGERS)
            ]
            triggers = [t["id"] for t in created]
            first = datetime.fromisoformat(created[0]["nextRunAt"])
            assert {datetime.fromisoformat(t["nextRunAt"]) for t in created} == {first}
            assert first == next_minute(datetime.now(UTC)), "all due at the coming minute"
            assert ticks(engine) == [], "nothing fires before its minute"

            sleep_until(first)
            wait_for(
                lambda: all_fired(engine, triggers, [first]),
                timeout=seconds_until(first + timedelta(seconds=FIRE_WITHIN)),
                what=f"{TRIGGERS} issues for the {first:%H:%M} tick",
            )
            assert_one_issue_per_trigger_and_tick(engine, triggers, [first])

            leaders = [s for s in schedulers if acquired(s)]
            assert len(leaders) == 1, "one lease holder, the other stands by"
            (leader,) = leaders
            (standby,) = [s for s in schedulers if s is not leader]
            leader.kill()
            killed_at, killed_wall = time.monotonic(), datetime.now(UTC)
            try:
                wait_for(lambda: acquired(standby), timeout=TAKEOVER_WITHIN, what="the takeover")
            except TimeoutError as error:
                raise AssertionError(
                    f"no takeover {time.monotonic() - killed_at:.1f}s after the SIGKILL at "
                    f"{killed_wall:%H:%M:%S.%f}; {leader.name} log:\n{leader.output()[-2000:]}\n"
                    f"{standby.name} log:\n{standby.output()[-2000:]}"
                ) from error
            assert time.monotonic() - killed_at < TAKEOVER_WITHIN

            second = first + timedelta(minutes=1)
            sleep_until(second)
            wait_for(
                lambda: all_fired(engine, triggers, [first, second]),
                timeout=seconds_until(second + timedelta(seconds=FIRE_WITHIN)),
                what=f"{TRIGGERS} issues for the {second:%H:%M} tick",
            )
            assert_one_issue_per_trigger_and_tick(engine, triggers, [first, second])
