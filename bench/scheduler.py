"""Scheduler benchmark: N schedule triggers due at the same minute, then an idle scan.

    .venv/bin/python bench/scheduler.py [--triggers N] [--idle-triggers M]
                                        [--workers P] [--threads T] [--companies C]

On a fresh PostgreSQL database (dropped afterwards) and a fresh Redis namespace:

1. Bulk-loads C companies (one agent and one project each) and N routines with one
   schedule trigger each, spread evenly over the companies. One routine per trigger is
   the realistic shape (every customer's "daily report" is its own routine, many
   tenants); it also keeps the routine row lock, taken by every dispatch, uncontended,
   so what is measured is the scheduler and the pipeline, not one hot row. The cron is
   daily at the due minute, so every trigger has exactly one tick in the run. The
   catch-up policy is enqueue_missed_with_cap, so that a tick fired more than the 60 s
   grace late still records its run (with `--catch-up-policy skip_missed`, the default of
   the API, such a tick is dropped without a run and "every run recorded" is never
   reached when the pipeline falls more than a minute behind).
2. Starts one `python -m scheduler` (lease on) and `dramatiq --processes P --threads T`
   as separate processes, makes every trigger due at the coming minute, and measures from
   that minute: until all N runs are recorded (routine_runs rows), until all are decided
   (status != received), runs/s, and the lag of created_at - scheduled_for.
3. Stops the processes, adds M triggers whose next run is hours to days away, and times
   one idle scan: `due_triggers(limit=1000)` (the scheduler's page query, in its own
   transaction, median of 50) and a whole `Scheduler.tick()` (scan + sweep), and prints
   the EXPLAIN ANALYZE of the due query to show which index serves it.

Figures are printed and written to bench/results/scheduler.json. Targets for a 2-core
machine: N=100,000 recorded within 60 s and decided within 180 s; idle scan under 10 ms.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, event, text  # noqa: E402

from scheduler.lease import AlwaysLeader  # noqa: E402
from scheduler.loop import SCAN_BATCH, Scheduler  # noqa: E402
from shared.broker import QUEUES  # noqa: E402
from shared.db import transaction  # noqa: E402
from shared.migrate import upgrade_to_head  # noqa: E402
from shared.runtime import Runtime, build_runtime  # noqa: E402
from shared.services.schedules import due_triggers  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.processes import (  # noqa: E402
    Process,
    distributed_env,
    start_scheduler,
    start_worker,
    wait_for,
)
from tests.support.services import (  # noqa: E402
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    redis_client,
)

RESULTS = ROOT / "bench" / "results" / "scheduler.json"
#: Targets of the issue, for this machine (2 cores).
TARGET_RECORDED_S = 60.0
TARGET_DECIDED_S = 180.0
TARGET_IDLE_SCAN_MS = 10.0
#: A placeholder next run that is never due while the data is loaded.
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
#: Rows per COPY chunk.
CHUNK = 50_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=100_000, help="due triggers (N)")
    parser.add_argument(
        "--idle-triggers", type=int, default=1_000_000, help="not-due triggers for the idle scan"
    )
    parser.add_argument("--workers", type=int, default=2, help="dramatiq worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process")
    parser.add_argument("--companies", type=int, default=100, help="tenants the load spreads over")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="give up this many seconds after the minute"
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


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


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
    "id", "company_id", "project_id", "assignee_agent_id", "title", "priority", "status",
    "concurrency_policy", "catch_up_policy", "variables", "created_at", "updated_at",
)  # fmt: skip
TRIGGER_COLUMNS = (
    "id", "company_id", "routine_id", "kind", "enabled", "cron_expression", "timezone",
    "next_run_at", "created_at", "updated_at",
)  # fmt: skip


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
            (r, c, p, a, f"Daily check {n}", "medium", "active", "coalesce_if_active",
             catch_up, "[]", now, now)
            for n, (r, (c, a, p)) in enumerate(routines)
        ),
    )  # fmt: skip
    return [(r, c) for r, (c, _, _) in routines]


def load_triggers(
    engine: Engine,
    routines: list[tuple[str, str]],
    count: int,
    next_run: Callable[[int], datetime],
    now: str,
) -> int:
    """`count` schedule triggers, round robin over the routines."""
    return copy_rows(
        engine,
        "routine_triggers",
        TRIGGER_COLUMNS,
        (
            (str(uuid.uuid4()), routines[n % len(routines)][1], routines[n % len(routines)][0],
             "schedule", "t", "0 0 * * *", "UTC", next_run(n).isoformat(), now, now)
            for n in range(count)
        ),
    )  # fmt: skip


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


def make_due(engine: Engine, margin: float) -> tuple[datetime, float]:
    """Point every trigger at the next minute boundary at least `margin` seconds away,
    with a daily cron at that minute; returns the minute and the UPDATE's seconds."""
    due = (datetime.now(UTC) + timedelta(seconds=margin + 60)).replace(second=0, microsecond=0)
    started = time.monotonic()
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE routine_triggers SET next_run_at = :due, cron_expression = :cron"),
            {"due": due, "cron": f"{due.minute} {due.hour} * * *"},
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
                "(SELECT count(*) FROM routine_triggers WHERE next_run_at <= :due) "
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

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from the 3rd (state) on


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat(pid)
        if fields and int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def backends_cpu(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to `database`."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
            fields = _stat(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])
    return total / TICKS


def machine_cpu() -> float:
    """CPU seconds used by everything on the machine (all cores, busy time only)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


def cpu_snapshot(database: str, worker: Process, scheduler: Process) -> dict[str, float]:
    return {
        "workers": group_cpu(worker.pid),
        "scheduler": group_cpu(scheduler.pid),
        "postgresql_backends": backends_cpu(database),
        "machine": machine_cpu(),
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
        issues = connection.scalar(text("SELECT count(*) FROM issues"))

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
        "issues": issues,
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
    worker_errors = 0
    for entry in json_lines(worker):
        if entry.get("msg") == "run decided":
            outcomes[str(entry.get("outcome"))] += 1
        if entry.get("msg") == "schedule fired":
            fired[str(entry.get("outcome"))] += 1
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
        "swept_reenqueued": swept,
        "worker_errors": worker_errors,
        "scheduler_errors": scheduler_errors,
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    database_url = create_database("routines_bench")
    namespace = f"routines-bench-{uuid.uuid4().hex[:10]}"
    log_dir = Path(tempfile.mkdtemp(prefix="routines-bench-"))
    settings = Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        admin_token="bench-admin-token",
        secret_key="bench-secret-key",
        broker_namespace=namespace,
    )
    processes: list[Process] = []
    runtime: Runtime | None = None
    # The bench's own bulk work (COPY, UPDATEs of 100k rows, VACUUM) runs without the
    # application's time limits, and COPY only works before build_runtime(): psycopg2
    # refuses it once the deadline's wait callback is installed (shared/db_deadline.py).
    engine = create_engine(database_url)
    try:
        say(f"database {database_url.rsplit('/', 1)[-1]}, namespace {namespace}, logs {log_dir}")
        upgrade_to_head(settings)
        result: dict[str, Any] = {
            "benchmark": "scheduler",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(engine),
            "parameters": {
                "triggers": args.triggers,
                "idle_triggers": args.idle_triggers,
                "companies": args.companies,
                "routines": args.triggers,
                "worker_processes": args.workers,
                "worker_threads": args.threads,
                "schedulers": 1,
                "scheduler_interval_s": settings.scheduler_interval_seconds,
                "scheduler_lease": True,
                "catch_up_policy": args.catch_up_policy,
                "shape": "one routine (coalesce_if_active) and one daily trigger per routine, "
                "spread over the companies, each company with one agent and one project",
            },
            "targets": {
                "all_recorded_s": TARGET_RECORDED_S,
                "all_decided_s": TARGET_DECIDED_S,
                "idle_scan_ms": TARGET_IDLE_SCAN_MS,
            },
        }

        now = datetime.now(UTC).isoformat()
        started = time.monotonic()
        tenants = load_tenants(engine, args.companies, now)
        routines = load_routines(engine, tenants, args.triggers, now, args.catch_up_policy)
        load_triggers(engine, routines, args.triggers, lambda _: FAR_FUTURE, now)
        vacuum_analyze(engine, "companies", "agents", "projects", "routines", "routine_triggers")
        load_s = round(time.monotonic() - started, 1)
        say(f"loaded {args.triggers} routines and triggers in {load_s}s")

        env = distributed_env(database_url, REDIS_URL, namespace)
        worker = start_worker(env, log_dir, processes=args.workers, threads=args.threads)
        processes.append(worker)
        scheduler = start_scheduler(env, log_dir)
        processes.append(scheduler)
        wait_ready(worker, scheduler, args.workers)
        due, update_s = make_due(engine, margin=5 + args.triggers / 20_000)
        say(f"{args.triggers} triggers due at {due:%H:%M:%S} (UPDATE took {update_s:.1f}s)")
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        queues = redis_client()

        def queue_length() -> dict[str, int]:
            return {f"queued_{q}": int(queues.llen(f"{namespace}:{q}")) for q in QUEUES}

        database = database_url.rsplit("/", 1)[-1]
        before = cpu_snapshot(database, worker, scheduler)
        load_before = os.getloadavg()
        timeline = watch(engine, due, args.triggers, args.timeout, processes, queue_length)
        after = cpu_snapshot(database, worker, scheduler)
        load_after = os.getloadavg()
        figures = due_figures(engine, due, args.triggers)
        figures["cpu"] = cpu_figures(before, after, figures["runs"])
        figures["loadavg_1_5_15"] = {"at_due": load_before, "at_end": load_after}
        scheduler.stop()
        worker.stop()
        figures.update(log_figures(worker, scheduler))
        figures["timeline"] = timeline
        figures["load_s"] = load_s
        result["due_minute"] = {"due_at": due.isoformat(), **figures}

        started = time.monotonic()
        horizon = timedelta(days=7).total_seconds()
        base = datetime.now(UTC) + timedelta(hours=1)
        rng = random.Random(7)
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
        idle = idle_scan(runtime, args.scans)
        result["idle_scan"] = {
            "idle_triggers": args.idle_triggers,
            "triggers_in_table": triggers_total,
            "load_s": idle_load_s,
            **idle,
        }
        result["met"] = {
            "all_recorded": _within(figures["all_recorded_s"], TARGET_RECORDED_S),
            "all_decided": _within(figures["all_decided_s"], TARGET_DECIDED_S),
            "idle_scan": idle["due_triggers_page"]["median_ms"] < TARGET_IDLE_SCAN_MS,
        }
        result["logs"] = str(log_dir)
        return result
    finally:
        for process in processes:
            if process.alive():
                process.stop()
        if runtime is not None:
            runtime.engine.dispose()
        engine.dispose()
        drop_database(database_url)
        delete_namespace(namespace)


def _within(value: float | None, target: float) -> bool:
    return value is not None and value <= target


def report(result: dict[str, Any], output: Path) -> None:
    due, idle = result["due_minute"], result["idle_scan"]
    what_if = idle["what_if_predicate_as_indexed"]
    lag, decided_lag = due["lag_recorded_s"], due["lag_decided_s"]
    lines = [
        "",
        f"scheduler benchmark, {result['date']}: {result['command']}",
        f"  machine: {result['machine']['nproc']} cores, Python {result['machine']['python']}, "
        f"PostgreSQL {result['machine']['postgresql']}",
        f"  {result['parameters']['triggers']} triggers due at one minute, "
        f"{result['parameters']['worker_processes']} worker processes x "
        f"{result['parameters']['worker_threads']} threads",
        f"  catch-up policy {result['parameters']['catch_up_policy']}; ticks dropped as missed "
        f"(no run): {due['dropped_as_missed']}; schedule fired logged: "
        f"{due['schedule_fired_logged']}",
        f"  runs recorded: {due['runs']} for {due['distinct_triggers']} triggers; "
        f"decided: {due['decided']}; issues: {due['issues']}; statuses: {due['statuses']}",
        f"  first run recorded        +{due['first_recorded_s']} s",
        f"  every run recorded        +{due['all_recorded_s']} s "
        f"(target {TARGET_RECORDED_S:.0f} s, met: {result['met']['all_recorded']})",
        f"  every run decided         +{due['all_decided_s']} s "
        f"(target {TARGET_DECIDED_S:.0f} s, met: {result['met']['all_decided']})",
        f"  throughput                {due['recorded_per_s']} recorded/s, "
        f"{due['decided_per_s']} decided/s",
        f"  lag recorded - scheduled  p50 {lag['p50']} s, p99 {lag['p99']} s, max {lag['max']} s",
        f"  lag decided - scheduled   p50 {decided_lag['p50']} s, p99 {decided_lag['p99']} s",
        f"  CPU while draining (s): {due['cpu']['cpu_s']} over {due['cpu']['wall_s']} s wall "
        f"x {result['machine']['nproc']} cores; per run (ms): {due['cpu']['cpu_ms_per_run']}",
        f"  load average at the due minute {due['loadavg_1_5_15']['at_due']}, "
        f"at the end {due['loadavg_1_5_15']['at_end']}",
        f"  sweep re-enqueued {due['swept_reenqueued']}; decisions logged "
        f"{due['decisions_logged']}; errors: worker {due['worker_errors']}, "
        f"scheduler {due['scheduler_errors']}",
        f"  idle scan, {idle['triggers_in_table']} triggers none due: due_triggers page "
        f"median {idle['due_triggers_page']['median_ms']} ms "
        f"(p95 {idle['due_triggers_page']['p95_ms']} ms; target {TARGET_IDLE_SCAN_MS:.0f} ms, "
        f"met: {result['met']['idle_scan']}); whole tick median "
        f"{idle['scheduler_tick']['median_ms']} ms; due index used: {idle['uses_due_index']}",
        f"  due query alone: median {idle['query_only']['median_ms']} ms",
        "  EXPLAIN ANALYZE of the due query:",
        *(f"    {line}" for line in idle["explain_analyze"]),
        f"  what if the predicate were spelled as the index spells it "
        f"({what_if['sql_change']}): median {(what_if['query_only'] or {}).get('median_ms')} ms,"
        f" due index used: {what_if['uses_due_index']}",
        *(f"    {line}" for line in what_if["explain_analyze"]),
        f"  written to {output}",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # A background job ignores SIGINT; SIGTERM must still drop the database and stop
    # the processes, so it unwinds through run()'s finally block.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, default=str) + "\n")
    report(result, args.output)


if __name__ == "__main__":
    main()
