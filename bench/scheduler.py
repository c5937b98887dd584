"""Scheduler benchmark: the issue's two schedule targets in one run, then an idle scan.

    .venv/bin/python -m bench.scheduler [--every-minute N] [--daily M] [--idle-triggers I]
                                        [--workers P] [--threads T] [--companies C]
                                        [--timeout S]

On a fresh PostgreSQL database (dropped afterwards) and a fresh Redis namespace:

1. Times the cron walk in this process: one tick plan (`select_ticks`, what a worker
   computes per trigger) for a few expressions, and a cold `parse_cron`, in microseconds.
2. Scenario "every_minute": bulk-loads N routines (default 10,000) with one `* * * * *`
   trigger each, spread over C companies (one agent and one project each: many tenants,
   one routine per trigger, so the routine row lock every decision takes is uncontended).
   Starts `python -m scheduler` (lease on) and `dramatiq --processes P --threads T`, makes
   every trigger due at the coming minute and measures from it: every run recorded
   (target 10 s), every run decided (30 s), p99 of recorded - scheduledFor (5 s).
3. Scenario "daily": the same with M routines (default 100,000) and a daily trigger at
   the due minute: recorded within 60 s, decided within 180 s. The previous scenario's
   triggers are disabled and its processes stopped first, so the two do not mix.
4. Counts what each scenario made, and exits non-zero if anything was lost or doubled:
   exactly one run per (trigger, tick), no trigger moved past the tick without its run,
   every decided run created its own issue (issues = runs that should create one).
   A scenario that did not finish within --timeout exits non-zero as well.
5. Adds I triggers whose next run is hours to days away and times one idle scan
   (`due_triggers(limit=1000)`, median of 50, target 10 ms) and a whole
   `Scheduler.tick()`, with the EXPLAIN ANALYZE of the due query.

The catch-up policy is enqueue_missed_with_cap, so that a tick recorded more than the
60 s grace late still has its run (with `--catch-up-policy skip_missed` such ticks are
dropped, counted as dropped, not as lost). Figures are printed with MET/MISS per target
and written to bench/results/scheduler.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text

from bench.procstats import cpu_seconds, database_backends, group_pids, machine_busy
from bench.report import command_line, say, write_results
from devstack.processes import (
    Process,
    distributed_env,
    start_scheduler,
    start_worker,
    wait_for,
)
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)
from scheduler.lease import AlwaysLeader
from scheduler.loop import PAGE_TICKS, SCAN_BATCH, Scheduler
from shared.platform.broker import QUEUES
from shared.platform.db import transaction
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from shared.schedules.catchup import ENQUEUE_MISSED_WITH_CAP, select_ticks
from shared.schedules.cron_parse import parse_cron
from shared.schedules.due import due_triggers

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "scheduler.json"
#: Targets of the issue, for this machine (2 cores), per scenario.
TARGETS: dict[str, dict[str, float]] = {
    "every_minute": {"all_recorded_s": 10.0, "all_decided_s": 30.0, "lag_p99_s": 5.0},
    "daily": {"all_recorded_s": 60.0, "all_decided_s": 180.0},
}
TARGET_IDLE_SCAN_MS = 10.0
#: Exit status when a scenario lost or doubled a run, or did not finish in time.
EXIT_LOST_OR_DOUBLED = 1
EXIT_INCOMPLETE = 3
#: A placeholder next run that is never due while the data is loaded.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
#: Rows per COPY chunk.
CHUNK = 50_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scheduler", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--every-minute", type=int, default=10_000, help="every-minute triggers due (0: skip)"
    )
    parser.add_argument(
        "--daily", "--triggers", type=int, default=100_000, help="daily triggers due (0: skip)"
    )
    parser.add_argument(
        "--idle-triggers", type=int, default=1_000_000, help="not-due triggers for the idle scan"
    )
    parser.add_argument("--workers", type=int, default=2, help="dramatiq worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--companies", type=int, default=100, help="tenants the load spreads over")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="give up on a scenario this many seconds after its minute (exit status 3)",
    )
    parser.add_argument("--scans", type=int, default=50, help="idle scans timed")
    parser.add_argument(
        "--catch-up-policy",
        choices=("enqueue_missed_with_cap", "skip_missed"),
        default="enqueue_missed_with_cap",
        help="of every routine; with skip_missed a tick fired more than the 60 s grace late "
        "is dropped without a run, so 'every run recorded' is only reached if the system "
        "keeps up",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


# --- bulk loading --------------------------------------------------------------------------


def copy_rows(engine: Engine, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """COPY rows (tuples of str, or None for NULL) into `table`, CHUNK rows at a time."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    total = 0
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        buffer, count = io.StringIO(), 0
        for row in rows:
            buffer.write("\t".join("\\N" if v is None else v for v in row))
            buffer.write("\n")
            count += 1
            if count == CHUNK:
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
                total, buffer, count = total + count, io.StringIO(), 0
        if count:
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
            total += count
        connection.commit()
    finally:
        connection.close()
    return total


def load_tenants(engine: Engine, companies: int, now: str) -> list[tuple[str, str, str]]:
    """(company, agent, project) ids, one agent and one project per company."""
    tenants = [(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(companies)]
    copy_rows(
        engine,
        "companies",
        ("id", "name", "issue_prefix", "issue_counter", "created_at", "updated_at"),
        ((c, f"Bench {n}", f"B{n}", "0", now, now) for n, (c, _, _) in enumerate(tenants)),
    )
    copy_rows(
        engine,
        "agents",
        ("id", "company_id", "name", "status", "created_at", "updated_at"),
        ((a, c, "Bot", "active", now, now) for c, a, _ in tenants),
    )
    copy_rows(
        engine,
        "projects",
        ("id", "company_id", "name", "status", "created_at", "updated_at"),
        ((p, c, "Ops", "active", now, now) for c, _, p in tenants),
    )
    return tenants


ROUTINE_COLUMNS = (
    "id",
    "company_id",
    "project_id",
    "assignee_agent_id",
    "title",
    "priority",
    "status",
    "concurrency_policy",
    "catch_up_policy",
    "variables",
    "created_at",
    "updated_at",
)
TRIGGER_COLUMNS = (
    "id",
    "company_id",
    "routine_id",
    "kind",
    "enabled",
    "cron_expression",
    "timezone",
    "next_run_at",
    "created_at",
    "updated_at",
)


def load_routines(
    engine: Engine, tenants: list[tuple[str, str, str]], count: int, now: str, catch_up: str
) -> list[tuple[str, str]]:
    """`count` routines spread evenly over the tenants; (routine, company) ids."""
    routines = [(str(uuid.uuid4()), tenants[n % len(tenants)]) for n in range(count)]
    copy_rows(
        engine,
        "routines",
        ROUTINE_COLUMNS,
        (
            (
                r,
                c,
                p,
                a,
                f"Daily check {n}",
                "medium",
                "active",
                "coalesce_if_active",
                catch_up,
                "[]",
                now,
                now,
            )
            for n, (r, (c, a, p)) in enumerate(routines)
        ),
    )
    return [(r, c) for r, (c, _, _) in routines]


def load_triggers(
    engine: Engine,
    routines: list[tuple[str, str]],
    count: int,
    next_run: Callable[[int], datetime],
    now: str,
    cron: str = "0 0 * * *",
) -> int:
    """`count` schedule triggers, round robin over the routines."""
    return copy_rows(
        engine,
        "routine_triggers",
        TRIGGER_COLUMNS,
        (
            (
                str(uuid.uuid4()),
                routines[n % len(routines)][1],
                routines[n % len(routines)][0],
                "schedule",
                "t",
                cron,
                "UTC",
                next_run(n).isoformat(),
                now,
                now,
            )
            for n in range(count)
        ),
    )


def vacuum_analyze(engine: Engine, *tables: str) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM ANALYZE {table}"))


# --- the due minute ------------------------------------------------------------------------


def wait_ready(worker: Process, scheduler: Process, processes: int) -> None:
    def ready() -> bool:
        for process in (worker, scheduler):
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
        booted = worker.output().count("Worker process is ready for action.")
        return booted >= processes and "acquired the scheduler lease" in scheduler.output()

    wait_for(ready, timeout=120, what="worker processes and the scheduler lease")


def make_due(
    engine: Engine, margin: float, cron: Callable[[datetime], str]
) -> tuple[datetime, float]:
    """Point every enabled trigger at the next minute boundary at least `margin` seconds
    away, with the scenario's cron; returns the minute and the UPDATE's seconds."""
    due = (datetime.now(UTC) + timedelta(seconds=margin + 60)).replace(second=0, microsecond=0)
    started = time.monotonic()
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE routine_triggers SET next_run_at = :due, cron_expression = :cron "
                "WHERE enabled"
            ),
            {"due": due, "cron": cron(due)},
        )
    took = time.monotonic() - started
    vacuum_analyze(engine, "routine_triggers")
    if datetime.now(UTC) >= due:
        say(f"warning: the triggers were made due only after {due:%H:%M:%S}")
    return due, took


def progress(engine: Engine, due: datetime) -> tuple[int, int, int]:
    """Runs recorded for the tick, runs decided, and triggers not yet moved past it."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE status <> 'received'), "
                "(SELECT count(*) FROM routine_triggers WHERE enabled AND next_run_at <= :due) "
                "FROM routine_runs WHERE scheduled_for = :due"
            ),
            {"due": due},
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def watch(
    engine: Engine,
    due: datetime,
    total: int,
    timeout: float,
    processes: list[Process],
    queue_length: Callable[[], dict[str, int]],
) -> list[dict[str, Any]]:
    """Poll until every run is decided (or the timeout); a timeline every 5 seconds,
    with the broker's backlog (messages waiting in each queue)."""
    timeline: list[dict[str, Any]] = []
    last_report = -5.0
    while True:
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited:\n{process.output()[-3000:]}")
        elapsed = (datetime.now(UTC) - due).total_seconds()
        recorded, decided, pending = progress(engine, due)
        # Settled: every trigger moved past the tick (fired, or dropped as missed) and
        # every recorded run decided; with enqueue_missed_with_cap that is all N runs.
        settled = decided >= total or (pending == 0 and decided == recorded)
        if elapsed >= last_report + 5 or settled:
            last_report = elapsed
            queued = queue_length()
            timeline.append(
                {
                    "t_s": round(elapsed, 1),
                    "recorded": recorded,
                    "decided": decided,
                    "triggers_not_fired": pending,
                    **queued,
                }
            )
            waiting = ", ".join(f"{k} {v}" for k, v in queued.items())
            say(
                f"+{elapsed:6.1f}s  recorded {recorded:>7}  decided {decided:>7}  / {total}"
                f"  not fired {pending:>7}  (queued: {waiting}; load {os.getloadavg()[0]:.1f})"
            )
        if settled or elapsed > timeout:
            return timeline
        time.sleep(0.5)


# --- where the CPU goes --------------------------------------------------------------------


def cpu_snapshot(engine: Engine, worker: Process, scheduler: Process) -> dict[str, float]:
    """CPU seconds used so far by each process group, the database's backends, and the
    whole machine (busy time, all cores)."""
    return {
        "workers": cpu_seconds(group_pids(worker.pid)),
        "scheduler": cpu_seconds(group_pids(scheduler.pid)),
        "postgresql_backends": cpu_seconds(database_backends(engine)),
        "machine": machine_busy()[0],
        "wall": time.monotonic(),
    }


def cpu_figures(before: dict[str, float], after: dict[str, float], runs: int) -> dict[str, Any]:
    spent = {k: round(after[k] - before[k], 1) for k in before}
    ours = spent["workers"] + spent["scheduler"] + spent["postgresql_backends"]
    return {
        "cpu_s": {
            **{k: v for k, v in spent.items() if k != "wall"},
            "others_on_the_machine": round(max(0.0, spent["machine"] - ours), 1),
        },
        "wall_s": spent["wall"],
        "cpu_ms_per_run": {
            k: round(spent[k] * 1000 / runs, 2) if runs else None
            for k in ("workers", "scheduler", "postgresql_backends")
        },
        "cores_available_s": round(spent["wall"] * (os.cpu_count() or 1), 1),
    }


def due_figures(engine: Engine, due: datetime, total: int) -> dict[str, Any]:
    query = text(
        """
        WITH runs AS (
            SELECT trigger_id, status, created_at, decided_at,
                   extract(epoch FROM created_at - scheduled_for) AS lag,
                   extract(epoch FROM decided_at - scheduled_for) AS decided_lag
            FROM routine_runs WHERE scheduled_for = :due
        )
        SELECT count(*) AS runs,
               count(DISTINCT trigger_id) AS triggers,
               count(*) FILTER (WHERE status <> 'received') AS decided,
               extract(epoch FROM min(created_at) - :due) AS first_recorded_s,
               extract(epoch FROM max(created_at) - :due) AS all_recorded_s,
               extract(epoch FROM max(decided_at) - :due) AS all_decided_s,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS lag_p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS lag_p99,
               max(lag) AS lag_max,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_lag) AS decided_p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY decided_lag) AS decided_p99
        FROM runs
        """
    )
    with engine.connect() as connection:
        row = connection.execute(query, {"due": due}).mappings().one()
        statuses = dict(
            connection.execute(
                text(
                    "SELECT status, count(*) FROM routine_runs WHERE scheduled_for = :due "
                    "GROUP BY status"
                ),
                {"due": due},
            ).all()
        )

    def num(value: Any) -> float | None:
        return None if value is None else round(float(value), 3)

    complete = row["decided"] == total
    recorded_s, decided_s = num(row["all_recorded_s"]), num(row["all_decided_s"])
    return {
        "runs": row["runs"],
        "dropped_as_missed": total - row["runs"],
        "distinct_triggers": row["triggers"],
        "decided": row["decided"],
        "statuses": {k: int(v) for k, v in statuses.items()},
        "complete": complete,
        "first_recorded_s": num(row["first_recorded_s"]),
        "all_recorded_s": recorded_s if row["runs"] == total else None,
        "all_decided_s": decided_s if complete else None,
        "recorded_per_s": round(total / recorded_s, 1) if recorded_s else None,
        "decided_per_s": round(total / decided_s, 1) if complete and decided_s else None,
        "lag_recorded_s": {
            "p50": num(row["lag_p50"]),
            "p99": num(row["lag_p99"]),
            "max": num(row["lag_max"]),
        },
        "lag_decided_s": {"p50": num(row["decided_p50"]), "p99": num(row["decided_p99"])},
    }


def json_lines(process: Process) -> Iterator[dict[str, Any]]:
    for line in process.output().splitlines():
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except ValueError:
                continue


def log_figures(worker: Process, scheduler: Process) -> dict[str, Any]:
    """What the logs say: decisions by outcome (already_decided = duplicate deliveries),
    runs re-enqueued by the sweep, errors."""
    outcomes: Counter[str] = Counter()
    fired: Counter[str] = Counter()
    pages, paged_runs = 0, 0
    worker_errors = 0
    for entry in json_lines(worker):
        if entry.get("msg") == "run decided":
            outcomes[str(entry.get("outcome"))] += 1
        if entry.get("msg") == "schedule fired":
            fired[str(entry.get("outcome"))] += 1
        if entry.get("msg") == "schedule page fired":
            pages += 1
            paged_runs += int(str(entry.get("outcome", "0")).split()[0])
        if entry.get("level") in ("error", "critical"):
            worker_errors += 1
    swept, scheduler_errors = 0, 0
    for entry in json_lines(scheduler):
        if entry.get("msg") == "swept undecided runs":
            swept += int(str(entry.get("outcome", "0")).split()[0])
        if entry.get("level") in ("error", "critical"):
            scheduler_errors += 1
    return {
        "decisions_logged": dict(outcomes),
        "schedule_fired_logged": dict(fired),
        "schedule_pages_logged": {"pages": pages, "runs": paged_runs},
        "swept_reenqueued": swept,
        "worker_errors": worker_errors,
        "scheduler_errors": scheduler_errors,
    }


# --- what was made ------------------------------------------------------------------------


def integrity(engine: Engine, due: datetime, policy: str) -> dict[str, Any]:
    """Counts that prove nothing was lost or doubled at the tick: exactly one run per
    (trigger, tick); no enabled trigger moved past the tick without its run (unless the
    policy drops missed ticks); every decided run created its own issue, which exists."""
    query = text(
        """
        WITH tick AS (SELECT * FROM routine_runs WHERE scheduled_for = :due)
        SELECT
          (SELECT count(*) FROM (SELECT 1 FROM tick GROUP BY trigger_id HAVING count(*) > 1)
             AS d) AS doubled,
          (SELECT count(*) FROM routine_triggers t WHERE t.enabled AND t.next_run_at > :due
             AND NOT EXISTS (SELECT 1 FROM routine_runs r  -- the unique (trigger, tick) index
                             WHERE r.trigger_id = t.id AND r.scheduled_for = :due))
             AS moved_without_run,
          (SELECT count(*) FROM tick WHERE status <> 'received') AS decided,
          (SELECT count(*) FROM tick WHERE status = 'issue_created') AS issue_created,
          (SELECT count(DISTINCT linked_issue_id) FROM tick WHERE status = 'issue_created')
             AS distinct_issues,
          (SELECT count(*) FROM issues WHERE id IN (SELECT linked_issue_id FROM tick))
             AS issues_found
        """
    )
    with engine.connect() as connection:
        row = {
            k: int(v) for k, v in connection.execute(query, {"due": due}).mappings().one().items()
        }
    lost = row["moved_without_run"] if policy == ENQUEUE_MISSED_WITH_CAP else 0
    # Each routine is fresh and has one trigger: every decided run should create an issue.
    should_create = row["decided"]
    problems = [
        f"{row['doubled']} (trigger, tick) pairs with more than one run" if row["doubled"] else "",
        f"{lost} triggers moved past the tick without a run" if lost else "",
        f"{should_create - row['issue_created']} decided runs made no issue"
        if row["issue_created"] != should_create
        else "",
        f"issues: {row['distinct_issues']} distinct, {row['issues_found']} found, for "
        f"{row['issue_created']} issue_created runs"
        if not row["distinct_issues"] == row["issues_found"] == row["issue_created"]
        else "",
    ]
    return {**row, "lost": lost, "problems": [p for p in problems if p]}


# --- the cron walk -------------------------------------------------------------------------

#: Expressions whose next-tick computation is timed: the two scenarios' and a weekday one
#: in a zone with daylight saving.
CRON_CASES = (
    ("* * * * *", "UTC"),
    ("0 9 * * *", "UTC"),
    ("0 9 * * 1-5", "America/New_York"),
)


def cron_walk(samples: int = 2000) -> dict[str, Any]:
    """Microseconds per trigger for the plan a worker computes (select_ticks: the due tick,
    missed ticks, the next run), and for parsing an expression without the cache. A page
    computes one plan per distinct (expression, zone, due tick, policy), so triggers due
    together cost one walk, not one each; these figures are the uncached worst case."""
    due = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    figures: dict[str, Any] = {}
    for expr, tz in CRON_CASES:
        plan = timed(
            lambda expr=expr, tz=tz: select_ticks(
                expr=expr,
                tz=tz,
                due_at=due,
                now=due + timedelta(seconds=1),
                policy=ENQUEUE_MISSED_WITH_CAP,
            ),
            samples,
        )
        parse = timed(lambda expr=expr: parse_cron.__wrapped__(expr), samples)
        figures[f"{expr} ({tz})"] = {
            "select_ticks_us": round(plan["median_ms"] * 1000, 1),
            "select_ticks_p95_us": round(plan["p95_ms"] * 1000, 1),
            "parse_uncached_us": round(parse["median_ms"] * 1000, 1),
        }
    worst = max(case["select_ticks_us"] for case in figures.values())
    return {
        "cases": figures,
        "worst_select_ticks_us": worst,
        "cpu_s_for_100k_uncached": round(worst * 100_000 / 1e6, 2),
        "parse_cache": str(parse_cron.cache_info()),
    }


# --- the idle scan -------------------------------------------------------------------------


def timed(call: Callable[[], object], times: int, warmup: int = 5) -> dict[str, float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 3),
        "min_ms": round(samples[0], 3),
        "max_ms": round(samples[-1], 3),
        "samples": len(samples),
    }


def idle_scan(runtime: Runtime, scans: int) -> dict[str, Any]:
    now = runtime.clock.now()
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "routine_triggers" in statement and not captured:
            captured.append((statement, parameters))

    def scan_page() -> None:
        with transaction(runtime.sessions) as session:
            assert due_triggers(session, now=now, limit=SCAN_BATCH) == []

    event.listen(runtime.engine, "before_cursor_execute", capture)
    scan_page()
    event.remove(runtime.engine, "before_cursor_execute", capture)
    page = timed(scan_page, scans)
    scheduler = Scheduler(runtime, AlwaysLeader())
    tick = timed(lambda: scheduler.tick(), scans)
    statement, parameters = captured[0]
    # What-if, for the report only: the same SQL with the predicate spelled as the partial
    # index spells it (`enabled`, not `enabled IS true`, which PostgreSQL cannot match to
    # the index predicate). Nothing outside bench/ is changed.
    as_indexed = statement.replace("routine_triggers.enabled IS true", "routine_triggers.enabled")
    connection = runtime.engine.raw_connection()
    try:
        cursor = connection.cursor()

        def raw(sql: str) -> Callable[[], object]:
            def call() -> object:
                cursor.execute(sql, parameters)
                rows = cursor.fetchall()
                connection.rollback()
                return rows

            return call

        def explain(sql: str) -> list[str]:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)
            plan = [row[0] for row in cursor.fetchall()]
            connection.rollback()
            return plan

        plan, plan_as_indexed = explain(statement), explain(as_indexed)
        raw_sql = timed(raw(statement), scans)
        raw_as_indexed = timed(raw(as_indexed), scans) if as_indexed != statement else None
    finally:
        connection.close()
    return {
        "due_triggers_page": page,
        "scheduler_tick": tick,
        "query_only": raw_sql,
        "sql": statement,
        "explain_analyze": plan,
        "uses_due_index": uses_due_index(plan),
        "what_if_predicate_as_indexed": {
            "sql_change": "routine_triggers.enabled IS true -> routine_triggers.enabled",
            "query_only": raw_as_indexed,
            "explain_analyze": plan_as_indexed,
            "uses_due_index": uses_due_index(plan_as_indexed),
        },
    }


def uses_due_index(plan: list[str]) -> bool:
    return any("ix_routine_triggers_due" in line for line in plan)


# --- the whole run -------------------------------------------------------------------------


def machine(engine: Engine) -> dict[str, Any]:
    with engine.connect() as connection:
        pg_version = connection.scalar(text("SHOW server_version"))
        pg_settings = {
            name: connection.scalar(text(f"SHOW {name}"))
            for name in ("shared_buffers", "synchronous_commit", "max_connections")
        }
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_settings": pg_settings,
        "redis": redis_client().info("server").get("redis_version"),
        "platform": platform.platform(),
    }


@dataclass(frozen=True)
class Scenario:
    name: str
    triggers: int
    #: The cron every trigger gets, from the due minute.
    cron: Callable[[datetime], str]


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    every = Scenario("every_minute", args.every_minute, lambda _: "* * * * *")
    daily = Scenario("daily", args.daily, lambda due: f"{due.minute} {due.hour} * * *")
    return [s for s in (every, daily) if s.triggers > 0]


@dataclass
class Bench:
    args: argparse.Namespace
    engine: Engine
    database_url: str
    namespace: str
    log_dir: Path
    tenants: list[tuple[str, str, str]]
    processes: list[Process]


def run_scenario(bench: Bench, scenario: Scenario) -> dict[str, Any]:
    """Load the scenario's routines and triggers, start a worker and a scheduler, make the
    triggers due at one minute, watch until every run is decided, count what was made."""
    args, engine = bench.args, bench.engine
    now = datetime.now(UTC).isoformat()
    started = time.monotonic()
    routines = load_routines(engine, bench.tenants, scenario.triggers, now, args.catch_up_policy)
    load_triggers(engine, routines, scenario.triggers, lambda _: FAR_FUTURE, now)
    vacuum_analyze(engine, "routines", "routine_triggers")
    load_s = round(time.monotonic() - started, 1)
    say(f"[{scenario.name}] loaded {scenario.triggers} routines and triggers in {load_s}s")
    env = distributed_env(bench.database_url, REDIS_URL, bench.namespace)
    worker = start_worker(
        env,
        bench.log_dir,
        name=f"worker-{scenario.name}",
        processes=args.workers,
        threads=args.threads,
    )
    scheduler = start_scheduler(env, bench.log_dir, name=f"scheduler-{scenario.name}")
    bench.processes += [worker, scheduler]
    wait_ready(worker, scheduler, args.workers)
    due, update_s = make_due(engine, 5 + scenario.triggers / 20_000, scenario.cron)
    say(
        f"[{scenario.name}] {scenario.triggers} triggers due at {due:%H:%M:%S} "
        f"(UPDATE took {update_s:.1f}s)"
    )
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
    queues = redis_client()

    def queue_length() -> dict[str, int]:
        return {f"queued_{q}": int(queues.llen(f"{bench.namespace}:{q}")) for q in QUEUES}

    before, load_before = cpu_snapshot(engine, worker, scheduler), os.getloadavg()
    timeline = watch(
        engine, due, scenario.triggers, args.timeout, [worker, scheduler], queue_length
    )
    after, load_after = cpu_snapshot(engine, worker, scheduler), os.getloadavg()
    figures = due_figures(engine, due, scenario.triggers)
    figures["integrity"] = integrity(engine, due, args.catch_up_policy)
    figures["cpu"] = cpu_figures(before, after, figures["runs"])
    figures["loadavg_1_5_15"] = {"at_due": load_before, "at_end": load_after}
    scheduler.stop()
    worker.stop()
    figures.update(log_figures(worker, scheduler))
    retire(bench)
    targets = TARGETS[scenario.name]
    met = {
        "all_recorded": _within(figures["all_recorded_s"], targets["all_recorded_s"]),
        "all_decided": _within(figures["all_decided_s"], targets["all_decided_s"]),
    }
    if "lag_p99_s" in targets:
        met["lag_p99"] = _within(figures["lag_recorded_s"]["p99"], targets["lag_p99_s"])
    return {
        "triggers": scenario.triggers,
        "cron": scenario.cron(due),
        "due_at": due.isoformat(),
        "targets": targets,
        "met": met,
        **figures,
        "timeline": timeline,
        "load_s": load_s,
    }


def retire(bench: Bench) -> None:
    """Take a finished scenario out of the next one's way: its triggers disabled, runs it
    left undecided closed (else the next scenario's sweep would decide them), and the
    namespace's queues emptied."""
    with bench.engine.begin() as connection:
        connection.execute(text("UPDATE routine_triggers SET enabled = false WHERE enabled"))
        connection.execute(
            text(
                "UPDATE routine_runs SET status = 'skipped', "
                "failure_reason = 'bench: left undecided by a finished scenario' "
                "WHERE status = 'received'"
            )
        )
    delete_namespace(bench.namespace)


def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    database_url = create_database("routines_bench")
    namespace = new_namespace("routines-bench")
    log_dir = Path(tempfile.mkdtemp(prefix="routines-bench-"))
    settings = Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        admin_token="bench-admin-token",
        secret_key="bench-secret-key",
        broker_namespace=namespace,
    )
    processes: list[Process] = []
    # The bench's own bulk work (COPY, UPDATEs of 100k rows, VACUUM) runs without the
    # application's time limits, and COPY only works before build_runtime(): psycopg2
    # refuses it once the deadline's wait callback is installed (shared/platform/db_deadline.py).
    engine = create_engine(database_url)
    try:
        say(f"database {database_url.rsplit('/', 1)[-1]}, namespace {namespace}, logs {log_dir}")
        upgrade_to_head(settings)
        result: dict[str, Any] = {
            "benchmark": "scheduler",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "machine": machine(engine),
            "parameters": {
                "every_minute_triggers": args.every_minute,
                "daily_triggers": args.daily,
                "idle_triggers": args.idle_triggers,
                "companies": args.companies,
                "worker_processes": args.workers,
                "worker_threads": args.threads,
                "schedulers": 1,
                "scheduler_interval_s": settings.scheduler_interval_seconds,
                "scheduler_lease": True,
                "ticks_per_page_message": PAGE_TICKS,
                "catch_up_policy": args.catch_up_policy,
                "shape": "one routine (coalesce_if_active) and one schedule trigger per "
                "routine, spread over the companies, each company with one agent and one "
                "project",
            },
            "targets": {**TARGETS, "idle_scan_ms": TARGET_IDLE_SCAN_MS},
        }
        result["cron_walk"] = cron_walk()
        say(f"cron walk: {result['cron_walk']['cases']}")
        tenants = load_tenants(engine, args.companies, datetime.now(UTC).isoformat())
        bench = Bench(args, engine, database_url, namespace, log_dir, tenants, processes)
        result["scenarios"] = {s.name: run_scenario(bench, s) for s in scenarios(args)}
        if args.idle_triggers > 0:
            result["idle_scan"] = idle_phase(engine, settings, args)
        result["logs"] = str(log_dir)
        return result
    finally:
        for process in processes:
            if process.alive():
                process.stop()
        engine.dispose()
        drop_database(database_url)
        delete_namespace(namespace)


def idle_phase(engine: Engine, settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Add idle triggers (hours to days away) and time the scan that finds none due; the
    application's runtime is built only after the COPY (see run())."""
    started = time.monotonic()
    horizon = timedelta(days=7).total_seconds()
    base = datetime.now(UTC) + timedelta(hours=1)
    rng = random.Random(7)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, company_id FROM routines LIMIT 1000")).all()
    routines = [(str(r[0]), str(r[1])) for r in rows]
    load_triggers(
        engine,
        routines,
        args.idle_triggers,
        lambda _: base + timedelta(seconds=rng.uniform(0, horizon)),
        datetime.now(UTC).isoformat(),
    )
    vacuum_analyze(engine, "routine_triggers", "routines", "routine_runs")
    idle_load_s = round(time.monotonic() - started, 1)
    with engine.connect() as connection:
        triggers_total = connection.scalar(text("SELECT count(*) FROM routine_triggers"))
    say(f"loaded {args.idle_triggers} idle triggers in {idle_load_s}s; timing the scan")
    runtime = build_runtime(settings)
    try:
        idle = idle_scan(runtime, args.scans)
    finally:
        runtime.engine.dispose()
    return {
        "idle_triggers": args.idle_triggers,
        "triggers_in_table": triggers_total,
        "load_s": idle_load_s,
        "met": idle["due_triggers_page"]["median_ms"] < TARGET_IDLE_SCAN_MS,
        **idle,
    }


def _within(value: float | None, target: float) -> bool:
    return value is not None and value <= target


def verdict(met: bool) -> str:
    return "MET" if met else "MISS"


def scenario_lines(name: str, due: dict[str, Any], nproc: int) -> list[str]:
    targets, met, lag = due["targets"], due["met"], due["lag_recorded_s"]
    checks = due["integrity"]
    lines = [
        f"  [{name}] {due['triggers']} triggers `{due['cron']}` due at {due['due_at']}",
        f"    every run recorded      +{due['all_recorded_s']} s  (target "
        f"{targets['all_recorded_s']:.0f} s: {verdict(met['all_recorded'])})",
        f"    every run decided       +{due['all_decided_s']} s  (target "
        f"{targets['all_decided_s']:.0f} s: {verdict(met['all_decided'])})",
        f"    lag recorded - scheduled  p50 {lag['p50']} s, p99 {lag['p99']} s, max {lag['max']} s"
        + (
            f"  (target p99 {targets['lag_p99_s']:.0f} s: {verdict(met['lag_p99'])})"
            if "lag_p99" in met
            else ""
        ),
        f"    lag decided - scheduled   p50 {due['lag_decided_s']['p50']} s, "
        f"p99 {due['lag_decided_s']['p99']} s",
        f"    throughput  {due['recorded_per_s']} recorded/s, {due['decided_per_s']} decided/s; "
        f"first run +{due['first_recorded_s']} s",
        f"    made: {due['runs']} runs for {due['distinct_triggers']} triggers, "
        f"{checks['decided']} decided, {checks['issue_created']} issue_created, "
        f"{checks['issues_found']} issues; doubled {checks['doubled']}, lost {checks['lost']}, "
        f"dropped as missed {due['dropped_as_missed']}; statuses {due['statuses']}",
        f"    CPU while draining (s): {due['cpu']['cpu_s']} over {due['cpu']['wall_s']} s wall "
        f"x {nproc} cores; per run (ms): {due['cpu']['cpu_ms_per_run']}",
        f"    logs: page messages {due['schedule_pages_logged']}, single-tick "
        f"{due['schedule_fired_logged']}; sweep re-enqueued {due['swept_reenqueued']}; "
        f"errors: worker {due['worker_errors']}, scheduler {due['scheduler_errors']}; "
        f"load average {due['loadavg_1_5_15']['at_due']} -> {due['loadavg_1_5_15']['at_end']}",
    ]
    lines += [f"    PROBLEM: {problem}" for problem in checks["problems"]]
    if not due["complete"]:
        lines.append("    INCOMPLETE: not every run was decided within --timeout")
    return lines


def report(result: dict[str, Any], output: Path) -> None:
    nproc = result["machine"]["nproc"]
    walk = result["cron_walk"]
    lines = [
        "",
        f"scheduler benchmark, {result['date']}: {result['command']}",
        f"  machine: {nproc} cores, Python {result['machine']['python']}, "
        f"PostgreSQL {result['machine']['postgresql']}; "
        f"{result['parameters']['worker_processes']} worker processes x "
        f"{result['parameters']['worker_threads']} threads; "
        f"{result['parameters']['ticks_per_page_message']} ticks per page message; "
        f"catch-up policy {result['parameters']['catch_up_policy']}",
        "  cron walk, per trigger (uncached; a page plans each distinct cron once): "
        + "; ".join(
            f"{case}: plan {f['select_ticks_us']} us, parse {f['parse_uncached_us']} us"
            for case, f in walk["cases"].items()
        ),
    ]
    for name, due in result["scenarios"].items():
        lines += scenario_lines(name, due, nproc)
    idle = result.get("idle_scan")
    if idle:
        lines += [
            f"  idle scan, {idle['triggers_in_table']} triggers none due: due_triggers page "
            f"median {idle['due_triggers_page']['median_ms']} ms (p95 "
            f"{idle['due_triggers_page']['p95_ms']} ms; target {TARGET_IDLE_SCAN_MS:.0f} ms: "
            f"{verdict(idle['met'])}); whole tick median {idle['scheduler_tick']['median_ms']} ms;"
            f" due index used: {idle['uses_due_index']}",
            "  EXPLAIN ANALYZE of the due query:",
            *(f"    {line}" for line in idle["explain_analyze"]),
        ]
    lines.append(f"  written to {output}")
    print("\n".join(lines), flush=True)


def exit_status(result: dict[str, Any]) -> int:
    """Non-zero, loudly, when a run was lost or doubled, or a scenario did not finish."""
    due = result["scenarios"].values()
    if any(d["integrity"]["problems"] for d in due):
        print("FAILED: runs lost or doubled (see PROBLEM above)", file=sys.stderr)
        return EXIT_LOST_OR_DOUBLED
    if not all(d["complete"] for d in due):
        print("FAILED: a scenario did not finish within --timeout", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A background job ignores SIGINT; SIGTERM must still drop the database and stop
    # the processes, so it unwinds through run()'s finally block.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args, command_line("bench.scheduler", argv))
    write_results(args.output, result)
    report(result, args.output)
    sys.exit(exit_status(result))


if __name__ == "__main__":
    main()
