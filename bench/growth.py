"""Growth benchmark: do reads and a fire cost the same with a year of history as with none?

On the distributed stack (bench/stack.py), a company with 20 routines is measured twice:
with just a page of history (PAGE runs and PAGE issues per routine, so every list shows
a full page), then after HISTORY runs (quick: QUICK_HISTORY) and a tenth as many finished
execution issues, older than that page, are inserted in bulk, spread over the routines.
Each measure is the median of several calls (ms); the ratio is with history over without.
Then fires are timed without and while retention deletes the expired part of that history
(older than the default 90 days). Figures go to bench/results/growth.json
(growth-quick.json with --quick).

    python -m bench.growth [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from bench.fixtures import bench_world, make_routine_with_policy
from bench.report import ROOT, command_line, machine_facts, say, write_results
from bench.stack import Sizes, Stack, distributed_stack, wait_worker_ready
from bench.stats import pct, rounded
from devstack.api import Api
from scheduler.loop import RETENTION_BATCH
from shared.platform.settings import Settings
from shared.runs.retention import delete_expired_runs

HISTORY, QUICK_HISTORY = 1_000_000, 100_000
ROUTINES = 20
#: A full page of the runs and issue lists: the baseline's whole history.
PAGE = 50
#: Calls per measure; the median is reported.
CALLS, QUICK_CALLS = 31, 15

RUNS = text("""
    INSERT INTO routine_runs (id, company_id, routine_id, source, status, triggered_at,
                              trigger_payload, created_at, updated_at)
    SELECT gen_random_uuid(), :company, (CAST(:routines AS uuid[]))[1 + n % :size],
           'schedule', 'completed', old.at, '{}'::jsonb, old.at, old.at
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT now() - (:offset + n * :step) * interval '1 minute' AS at) AS old
""")
ISSUES = text("""
    INSERT INTO issues (id, company_id, number, identifier, title, status, priority,
                        origin_kind, origin_id, created_at, updated_at)
    SELECT gen_random_uuid(), :company, :number + n, 'OLD-' || (:number + n), 'Old run',
           'done', 'medium', 'routine_execution', (CAST(:routines AS uuid[]))[1 + n % :size],
           old.at, old.at
    FROM generate_series(1, :count) AS n,
         LATERAL (SELECT now() - (:offset + 10 * n * :step) * interval '1 minute' AS at) AS old
""")


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    history = QUICK_HISTORY if args.quick else HISTORY
    calls = QUICK_CALLS if args.quick else CALLS
    with distributed_stack(Sizes()) as stack:
        wait_worker_ready(stack)
        api = stack.api()
        company, agent, project = bench_world(api)
        routines = [
            make_routine_with_policy(api, company, agent, project, "always_enqueue", f"r{n}")
            for n in range(ROUTINES)
        ]
        ids = [r["id"] for r in routines]
        measures = _measures(api, company, routines)
        page = ROUTINES * PAGE
        _insert_history(stack, company["id"], ids, page, page, offset=0)
        _measure_all(stack, measures, 3)  # a round to warm every process, then the baseline
        empty = _measure_all(stack, measures, calls)
        started = time.monotonic()
        _insert_history(stack, company["id"], ids, history, history // 10, offset=100 * PAGE)
        inserted_s = round(time.monotonic() - started, 1)
        say(f"inserted {history:,} runs and {history // 10:,} issues in {inserted_s} s")
        grown = _measure_all(stack, measures, calls)
        interval = Settings.scheduler_interval_seconds
        retention = {
            "as_scheduled": _retention(stack, measures["fire"], fires=10 * calls, pause=interval),
            "back_to_back": _retention(stack, measures["fire"], fires=10 * calls, pause=0.0),
        }
    for pace, figure in retention.items():
        say(
            f"retention {pace}: {figure['deleted_per_s']:,} runs/s deleted; fire p99 "
            f"{figure['fire_p99_ms']} ms, {figure['fire_p99_without_ms']} ms without, "
            f"x{figure['p99_ratio']}"
        )
    figures = {
        name: {
            "page_only_ms": empty[name],
            "history_ms": grown[name],
            "ratio": round(grown[name] / empty[name], 2),
        }
        for name in measures
    }
    for name, figure in figures.items():
        say(
            f"{name}: {figure['page_only_ms']} ms with a page of history, "
            f"{figure['history_ms']} ms with {history:,} runs, "
            f"x{figure['ratio']}"
        )
    results = {
        "benchmark": "growth",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line("bench.growth", argv),
        "machine": machine_facts(),
        "settings": {
            "history_runs": history,
            "history_issues": history // 10,
            "routines": ROUTINES,
            "page": PAGE,
            "calls": calls,
        },
        "history_insert_s": inserted_s,
        "medians": figures,
        "retention": retention,
    }
    name = "growth-quick.json" if args.quick else "growth.json"
    write_results(ROOT / "bench" / "results" / name, results)
    return 0


def _measures(
    api: Api, company: dict[str, Any], routines: list[dict[str, Any]]
) -> dict[str, Callable[[], object]]:
    """A fire, then each read the issue names. The fire goes to the last routine and comes
    first, so the routine read (the first) shows the same runs in both rounds."""
    first, fired = routines[0]["id"], routines[-1]["id"]
    return {
        "fire": lambda: api.ok("POST", f"/api/routines/{fired}/run", {}, status=202),
        "routine list (20)": lambda: api.ok("GET", f"/api/companies/{company['id']}/routines"),
        "routine detail": lambda: api.ok("GET", f"/api/routines/{first}"),
        "runs page (50)": lambda: api.ok("GET", f"/api/routines/{first}/runs?limit=50"),
        "issue list (50)": lambda: api.ok("GET", f"/api/companies/{company['id']}/issues"),
        "a routine's issues": lambda: api.ok(
            "GET", f"/api/companies/{company['id']}/issues?originId={first}"
        ),
        "ops summary": lambda: api.ok("GET", "/api/ops/summary"),
    }


def _measure_all(
    stack: Stack, measures: dict[str, Callable[[], object]], calls: int
) -> dict[str, float]:
    """Each measure once the worker has decided every fire before it, so none of them runs
    beside the worker's decisions."""
    medians = {}
    for name, call in measures.items():
        medians[name] = _median_ms(call, calls)
        _settle(stack)
    return medians


def _retention(
    stack: Stack, fire: Callable[[], object], *, fires: int, pause: float
) -> dict[str, Any]:
    """Fire latency without, then while, retention deletes expired runs a batch every
    `pause` seconds (the scheduler's tick; 0 = back to back), and how fast it deletes."""
    without = _latencies(fire, fires)
    _settle(stack)
    stop, deleted = threading.Event(), [0]
    cutoff = datetime.now(UTC) - timedelta(days=Settings.run_retention_days)
    sessions = sessionmaker(stack.engine)

    def sweep() -> None:
        while not stop.is_set():
            with sessions() as session, session.begin():
                batch = delete_expired_runs(session, recorded_before=cutoff, limit=RETENTION_BATCH)
            deleted[0] += batch
            if not batch:
                return
            stop.wait(pause)

    sweeper = threading.Thread(target=sweep, name="retention")
    started = time.monotonic()
    sweeper.start()
    during = _latencies(fire, fires)
    stop.set()
    sweeper.join()
    elapsed = time.monotonic() - started
    p99, p99_without = pct(during, 99) or 0.0, pct(without, 99) or 0.0
    return {
        "fires": fires,
        "deleted": deleted[0],
        "deleted_per_s": round(deleted[0] / elapsed),
        "fire_p50_ms": rounded(pct(during, 50), 2),
        "fire_p99_ms": round(p99, 2),
        "fire_p50_without_ms": rounded(pct(without, 50), 2),
        "fire_p99_without_ms": round(p99_without, 2),
        "p99_ratio": round(p99 / p99_without, 2),
    }


def _latencies(call: Callable[[], object], calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _settle(stack: Stack, timeout: float = 60) -> None:
    undecided = text("SELECT count(*) FROM routine_runs WHERE status = 'received'")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with stack.engine.connect() as connection:
            if not connection.scalar(undecided):
                return
        time.sleep(0.2)


def _median_ms(call: Callable[[], object], calls: int) -> float:
    for _ in range(3):  # warm: connections, plans, caches
        call()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def _insert_history(
    stack: Stack, company: str, routines: list[str], runs: int, issues: int, *, offset: int
) -> None:
    """Runs and finished issues, the newest `offset` minutes old, spread over `routines`
    and over about two years (a run a minute at HISTORY runs), most of it past retention."""
    values = {"company": company, "routines": routines, "size": len(routines), "offset": offset}
    values["step"] = max(1, HISTORY // max(runs, 1))
    with stack.engine.begin() as connection:
        connection.execute(RUNS, {**values, "count": runs})
        numbers = {"number": 1_000_000 + offset}  # clear of the company's own numbers
        latest = offset + runs * values["step"]
        connection.execute(ISSUES, {**values, "count": issues, "offset": latest, **numbers})
    with stack.engine.connect() as connection:
        autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
        autocommit.execute(text("VACUUM ANALYZE routine_runs, issues"))
        # Written out now, so that the measures after it do not pay for the bulk insert.
        autocommit.execute(text("CHECKPOINT"))


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_HISTORY:,} runs instead of {HISTORY:,}"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
