"""Run retention on real PostgreSQL: the scheduler deletes runs past
ROUTINES_RUN_RETENTION_DAYS a bounded batch per tick, by the injected clock, keeps every
run something still needs, and counts what it deleted."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from devstack.api import Api, World, make_routine, make_world
from scheduler.loop import RETENTION_BATCH, Scheduler
from shared.models import RoutineRun
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock
from tests.support.plans import indexes_of, plan_of, rows_read, scans_of, statements_of

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DAYS = 90

RUN = text("""
    INSERT INTO routine_runs (id, company_id, routine_id, source, status, triggered_at,
                              trigger_payload, linked_issue_id, coalesced_into_run_id,
                              replay_of_run_id, created_at, updated_at)
    VALUES (:id, :company, :routine, 'api', :status, :at, '{}'::jsonb, :issue, :coalesced,
            :replay_of, :at, :at)
""")
OLD_RUNS = text("""
    INSERT INTO routine_runs (id, company_id, routine_id, source, status, triggered_at,
                              trigger_payload, created_at, updated_at)
    SELECT gen_random_uuid(), :company, :routine, 'schedule', 'completed', old.at, '{}'::jsonb,
           old.at, old.at
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT CAST(:start AS timestamptz) - n * interval '1 minute' AS at) AS old
""")


@pytest.fixture
def world(sched_api: Api) -> World:
    return make_world(sched_api)


def add_run(runtime: Runtime, routine: dict[str, Any], *, age_days: float, **fields: Any) -> str:
    run_id = str(uuid.uuid4())
    at = runtime.clock.now() - timedelta(days=age_days)
    values = {"status": "completed", "issue": None, "coalesced": None, "replay_of": None}
    values |= {"id": run_id, "company": routine["companyId"], "routine": routine["id"], "at": at}
    with runtime.engine.begin() as connection:
        connection.execute(RUN, values | fields)
    return run_id


def kept(runtime: Runtime) -> set[str]:
    with runtime.sessions() as session:
        return {str(run_id) for run_id in session.scalars(select(RoutineRun.id))}


def expired_total() -> float:
    return REGISTRY.get_sample_value("routines_runs_expired_total") or 0.0


def make_issue(api: Api, world: World, status: str) -> str:
    path = f"/api/companies/{world.company['id']}/issues"
    issue = api.ok("POST", path, {"title": f"an issue {status}"}, status=201)
    if status != "todo":
        api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": status})
    return str(issue["id"])


def test_runs_past_retention_are_deleted_by_the_clock_and_counted(
    timed: Runtime, clock: FixedClock, world: World
) -> None:
    old = [add_run(timed, world.routine, age_days=age) for age in (120, 91)]
    recent = add_run(timed, world.routine, age_days=10)
    newest = add_run(timed, world.routine, age_days=1)
    counted = expired_total()
    report = Scheduler(timed).tick()
    assert report.expired == len(old)
    assert kept(timed) == {recent, newest}
    assert expired_total() - counted == len(old)
    clock.advance(days=85)
    assert Scheduler(timed).tick().expired == 1
    assert kept(timed) == {newest}


def test_a_run_something_still_needs_is_kept_however_old(
    sched_api: Api, timed: Runtime, world: World
) -> None:
    live, done = make_issue(sched_api, world, "todo"), make_issue(sched_api, world, "done")
    routine = world.routine
    needed = {
        add_run(timed, routine, age_days=200, status="received"),
        add_run(timed, routine, age_days=200, status="issue_created", issue=live),
    }
    target = add_run(timed, routine, age_days=200, status="issue_created", issue=done)
    coalesced = add_run(
        timed, routine, age_days=150, status="coalesced", issue=live, coalesced=target
    )
    needed |= {target, coalesced}
    original = add_run(timed, routine, age_days=200)
    needed |= {original, add_run(timed, routine, age_days=1, replay_of=original)}
    doomed = add_run(timed, routine, age_days=200, status="issue_created", issue=done)
    lone = make_routine(sched_api, world.company, world.agent, title="Idle")
    needed.add(add_run(timed, lone, age_days=300))
    report = Scheduler(timed).tick()
    assert report.expired == 1
    assert kept(timed) == needed
    assert doomed not in kept(timed)


def test_retention_deletes_one_bounded_batch_per_tick(timed: Runtime, world: World) -> None:
    ids = {"company": world.company["id"], "routine": world.routine["id"]}
    start = timed.clock.now() - timedelta(days=DAYS + 1)
    with timed.engine.begin() as connection:
        connection.execute(OLD_RUNS, {**ids, "count": 2 * RETENTION_BATCH + 7, "start": start})
    add_run(timed, world.routine, age_days=0)
    scheduler = Scheduler(timed)
    deleted = [scheduler.tick().expired for _ in range(4)]
    assert deleted == [RETENTION_BATCH, RETENTION_BATCH, 7, 0], "then rests: nothing expires"
    with timed.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RoutineRun)) == 1


def test_no_run_is_deleted_when_retention_is_off(timed: Runtime, world: World) -> None:
    every = {add_run(timed, world.routine, age_days=age) for age in (900, 400, 1)}
    forever = replace(timed, settings=timed.settings.with_overrides(run_retention_days=0))
    assert Scheduler(forever).tick().expired == 0
    assert kept(timed) == every


def test_a_retention_batch_reads_its_batch_not_the_history(timed: Runtime, world: World) -> None:
    ids = {"company": world.company["id"], "routine": world.routine["id"]}
    with timed.engine.begin() as connection:
        recent = timed.clock.now()
        connection.execute(OLD_RUNS, {**ids, "count": 20_000, "start": recent})
        expired = timed.clock.now() - timedelta(days=DAYS + 1)
        connection.execute(OLD_RUNS, {**ids, "count": RETENTION_BATCH + 100, "start": expired})
        connection.execute(text("ANALYZE routine_runs"))
    sent = statements_of(timed.engine, lambda: Scheduler(timed).retain())
    assert [s.split()[0] for s, _ in sent] == ["SET", "SELECT", "DELETE"], "SET LOCAL jit = off"
    indexes = indexes_of(timed.engine, "routine_runs")
    for statement, parameters in sent[1:]:  # EXPLAIN ANALYZE, rolled back with its connection
        plan = plan_of(timed.engine, statement, parameters)
        scans = scans_of(plan, "routine_runs", indexes)
        assert all(node["Node Type"] != "Seq Scan" for node in scans), plan
        assert sum(rows_read(node) for node in scans) < 5 * RETENTION_BATCH, plan
