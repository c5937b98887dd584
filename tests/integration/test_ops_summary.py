"""The /ops summary on real PostgreSQL: what its numbers count, and that no statement it
issues reads the whole history of runs, however long that history has grown."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import text

from devstack.api import Api, World, fire, make_world
from shared.platform.ops_summary import ops_summary
from shared.platform.runtime import Runtime
from shared.tenancy.auth import ADMIN
from tests.support.plans import Statement, indexes_of, plan_of, rows_read, scans_of, statements_of

#: Runs from before the window: a minute apart, enough that reading them all costs far
#: more than any index, so the planner shows which statements need one.
OLD_RUNS = 50_000
#: Of those, one in a thousand failed and ten were never decided.
OLD_FAILED, OLD_RECEIVED = 50, 10
#: A statement that reads this many runs is reading history, not the window.
MOST_ROWS_READ = 1_000

HISTORY = text("""
    INSERT INTO routine_runs (id, company_id, routine_id, source, status, triggered_at,
                              trigger_payload, failure_reason, created_at, updated_at)
    SELECT gen_random_uuid(), :company, :routine, 'schedule', old.status, old.at,
           '{}'::jsonb, CASE WHEN old.status = 'failed' THEN 'old failure' END, old.at, old.at
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT CASE WHEN n % 1000 = 0 THEN 'failed'
                              WHEN n % 5000 = 1 THEN 'received'
                              ELSE 'completed' END AS status,
                         now() - interval '1 day' - n * interval '1 minute' AS at) AS old
""")


@pytest.fixture
def history(api: Api, runtime: Runtime) -> World:
    """A routine with OLD_RUNS runs from before the window, and fresh planner statistics."""
    world = make_world(api, concurrencyPolicy="always_enqueue")
    ids = {"company": world.company["id"], "routine": world.routine["id"]}
    with runtime.engine.begin() as connection:
        connection.execute(HISTORY, {**ids, "count": OLD_RUNS})
        connection.execute(text("ANALYZE routine_runs"))
    return world


def summary_statements(runtime: Runtime) -> list[Statement]:
    """Every statement the summary sends, with its parameters, as the driver got them."""

    def summarize() -> None:
        with runtime.sessions() as session:
            ops_summary(session, ADMIN, broker=runtime.broker, now=runtime.clock.now(), leader={})

    return statements_of(runtime.engine, summarize)


def test_the_summary_counts_the_window_and_every_undecided_run(
    api: Api, history: World, drain: Callable[[], None]
) -> None:
    for _ in range(2):
        fire(api, history.routine)
    drain()
    fire(api, history.routine)
    summary = api.ok("GET", "/api/ops/summary")
    assert summary["totals"] == {"routines": 1, "received": OLD_RECEIVED + 1}
    assert summary["window_minutes"] == 30
    assert summary["window_runs"] == {"issue_created": 2, "received": 1}
    assert sum(summary["fires_per_minute"]["manual"]) == 3
    assert [r["reason"] for r in summary["failed_runs"]] == ["old failure"] * 10


def test_no_statement_of_the_summary_reads_the_whole_history_of_runs(
    api: Api, runtime: Runtime, history: World
) -> None:
    for _ in range(3):
        fire(api, history.routine)
    on_runs = [(s, p) for s, p in summary_statements(runtime) if "routine_runs" in s]
    indexes = indexes_of(runtime.engine, "routine_runs")
    for statement, parameters in on_runs:
        plan = plan_of(runtime.engine, statement, parameters)
        scans = scans_of(plan, "routine_runs", indexes)
        assert scans, statement
        kinds = [node["Node Type"] for node in scans]
        assert "Seq Scan" not in kinds, (statement, json.dumps(plan, indent=1))
        assert sum(rows_read(node) for node in scans) < MOST_ROWS_READ, (statement, kinds)
    assert len(on_runs) == 4, "chart rows, window counts, backlog, failed list"
