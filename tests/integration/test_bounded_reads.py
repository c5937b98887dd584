"""Every read costs what its page shows, not what history holds: with 20,000 runs and
issues in a routine's past, the statements a read endpoint sends go through no more runs
and issues than with none, but for a few per item the page shows, and never scan a table."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import text

from devstack.api import Api, World, fire, make_routine, make_world
from shared.platform.runtime import Runtime
from tests.support.plans import indexes_of, plan_of, rows_read, scans_of, statements_of

HISTORY = 20_000
#: Rows a read may go through beyond what it read with no history at all: a few for
#: each item it shows, and a few more.
PER_ITEM_SHOWN, MOST_EXTRA_ROWS = 2, 10
TABLES = ("routine_runs", "issues")
#: An id no issue names: filters on it must find nothing without reading everything.
NOBODY = "00000000-0000-4000-8000-000000000000"

OLD_RUNS = text("""
    INSERT INTO routine_runs (id, company_id, routine_id, source, status, triggered_at,
                              trigger_payload, created_at, updated_at)
    SELECT gen_random_uuid(), :company, :routine, 'schedule', 'completed', old.at,
           '{}'::jsonb, old.at, old.at
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT now() - interval '1 day' - n * interval '1 minute' AS at) AS old
""")
OLD_ISSUES = text("""
    INSERT INTO issues (id, company_id, number, identifier, title, status, priority,
                        origin_kind, origin_id, created_at, updated_at, assignee_agent_id)
    SELECT gen_random_uuid(), :company, 100000 + n, 'OLD-' || n, 'Daily check', 'done',
           'medium', 'routine_execution', :routine, old.at, old.at, :agent
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT now() - interval '1 day' - n * interval '1 minute' AS at) AS old
""")

READS: dict[str, Callable[[World, str], str]] = {
    "routine list": lambda w, _: f"/api/companies/{w.company['id']}/routines",
    "routine detail": lambda w, _: f"/api/routines/{w.routine['id']}",
    "runs list": lambda w, _: f"/api/routines/{w.routine['id']}/runs",
    "one run": lambda _, run: f"/api/routine-runs/{run}",
    "issue list": lambda w, _: f"/api/companies/{w.company['id']}/issues",
    "live issues": lambda w, _: f"/api/companies/{w.company['id']}/issues?status=todo,blocked",
    "finished issues": lambda w, _: f"/api/companies/{w.company['id']}/issues?status=done",
    "an agent's issues": lambda w, _: (
        f"/api/companies/{w.company['id']}/issues?assigneeAgentId={w.agent['id']}"
    ),
    "manual issues": lambda w, _: f"/api/companies/{w.company['id']}/issues?originKind=manual",
    "a routine's issues": lambda w, _: (
        f"/api/companies/{w.company['id']}/issues?originId={w.routine['id']}"
    ),
    "no routine's issues": lambda w, _: (
        f"/api/companies/{w.company['id']}/issues?originId={NOBODY}"
    ),
    "no agent's issues": lambda w, _: (
        f"/api/companies/{w.company['id']}/issues?assigneeAgentId={NOBODY}"
    ),
    "cancelled issues": lambda w, _: f"/api/companies/{w.company['id']}/issues?status=cancelled",
    "execution issues": lambda w, _: (
        f"/api/companies/{w.company['id']}/issues?originKind=routine_execution"
    ),
    "activity": lambda w, _: f"/api/companies/{w.company['id']}/activity",
    "ops summary": lambda _w, _r: "/api/ops/summary",
}


@pytest.fixture
def world(api: Api) -> World:
    """A routine with one fresh run, among a few others without any."""
    made = make_world(api)
    for n in range(4):
        make_routine(api, made.company, made.agent, title=f"Other {n}")
    return made


def add_history(runtime: Runtime, world: World) -> None:
    ids = {"company": world.company["id"], "routine": world.routine["id"], "count": HISTORY}
    ids |= {"agent": world.agent["id"]}
    with runtime.engine.begin() as connection:
        connection.execute(OLD_RUNS, ids)
        connection.execute(OLD_ISSUES, ids)
        connection.execute(text("ANALYZE routine_runs"))
        connection.execute(text("ANALYZE issues"))


def rows_and_plans(api: Api, runtime: Runtime, path: str) -> tuple[float, list[str], int]:
    """Runs and issues the read's statements went through, their plans, and how many of
    their scans were sequential."""
    sent = statements_of(runtime.engine, lambda: api.ok("GET", path))
    indexes = {table: indexes_of(runtime.engine, table) for table in TABLES}
    total, plans, sequential = 0.0, [], 0
    for statement, parameters in sent:
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        plan = plan_of(runtime.engine, statement, parameters)
        for table in TABLES:
            scans = scans_of(plan, table, indexes[table])
            sequential += sum(node["Node Type"] == "Seq Scan" for node in scans)
            total += sum(rows_read(node) for node in scans)
        plans.append(json.dumps(plan))
    return total, plans, sequential


@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_goes_through_rows_for_what_it_shows_not_for_history(
    api: Api, runtime: Runtime, world: World, read: str
) -> None:
    run = fire(api, world.routine)["id"]
    path = READS[read](world, run)
    fresh = api.ok("GET", path)
    before, _, _ = rows_and_plans(api, runtime, path)
    add_history(runtime, world)
    after, plans, sequential = rows_and_plans(api, runtime, path)
    assert sequential == 0, (read, plans)
    shown = _items_shown(api.ok("GET", path))
    assert after <= before + PER_ITEM_SHOWN * shown + MOST_EXTRA_ROWS, (read, before, after, plans)
    if read == "routine list":
        assert _newest(api.ok("GET", path)) == _newest(fresh)


def _newest(items: list[dict[str, object]]) -> list[tuple[object, object]]:
    """What the list shows of each routine's newest run and live issue."""
    return [(item["lastRun"], item["activeIssue"]) for item in items]


def _items_shown(body: object) -> int:
    """The rows of a page, or the runs a routine's detail lists."""
    if isinstance(body, list):
        return len(body)
    assert isinstance(body, dict)
    return len(body.get("recentRuns", []))
