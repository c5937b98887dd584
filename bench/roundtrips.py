"""What one fire costs, in-process: round trips to PostgreSQL and Redis, and CPU time.

    .venv/bin/python -m bench.roundtrips [--fires 500]

A companion of bench/fire.py that needs no load and so reads the same on a busy machine:
the web app (create_app) and the worker's decide() run in this process, one request at a
time through Flask's test client, against a fresh PostgreSQL database and Redis
namespace (removed afterwards), with the web's JSON request log on (to /dev/null) and
Prometheus in multi-process mode, as under gunicorn. Counted per webhook fire, per
manual run and per decision: SQL statements (COMMIT included), connection checkouts
(a checkout may add a ping: see shared/platform/db.py), Redis commands; then the CPU
and wall time per request, next to a no-op Flask request (bench/noop_app.py) for scale.
Written to bench/results/roundtrips.json.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import event

from bench.fixtures import make_webhook_targets
from bench.noop_app import app as noop_app
from bench.payloads import Request, manual_runs, signed_webhooks
from bench.report import command_line, machine_facts, say, write_results
from devstack.api import Api, FlaskTransport
from devstack.processes import distributed_env, run_release
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
)
from shared.platform.logs import configure_logging
from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "roundtrips.json"
PROFILES = ROOT / "bench" / "profiles"


class Tally:
    """SQL statements, pool checkouts and Redis commands seen while counting."""

    def __init__(self) -> None:
        self.on = False
        self.sql: list[str] = []
        self.checkouts = 0
        self.redis: Counter[str] = Counter()

    @contextlib.contextmanager
    def counting(self) -> Iterator[Tally]:
        self.sql, self.checkouts, self.redis = [], 0, Counter()
        self.on = True
        try:
            yield self
        finally:
            self.on = False

    def summary(self) -> dict[str, Any]:
        return {
            "sql_statements": len(self.sql),
            "pool_checkouts": self.checkouts,
            "redis_commands": sum(self.redis.values()),
            "round_trips_sql_and_redis": len(self.sql) + sum(self.redis.values()),
            "sql": [" ".join(s.split())[:110] for s in self.sql],
            "redis": dict(self.redis),
        }


def instrument(engine: Any, tally: Tally) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _sql(*args: Any) -> None:
        if tally.on:
            tally.sql.append(args[2])  # (conn, cursor, statement, ...)

    @event.listens_for(engine, "commit")
    def _commit(*_: Any) -> None:
        if tally.on:
            tally.sql.append("COMMIT")

    @event.listens_for(engine.pool, "checkout")
    def _checkout(*_: Any) -> None:
        if tally.on:
            tally.checkouts += 1


def patch_redis(tally: Tally) -> None:
    """Count commands at the client (a pipeline counts as one round trip)."""
    original = redis.Redis.execute_command
    original_pipe = redis.client.Pipeline.execute

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        if tally.on:
            tally.redis[str(args[0]).upper()] += 1
        return original(self, *args, **options)

    def pipe_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        if tally.on:
            tally.redis["PIPELINE(" + ",".join(str(c[0][0]) for c in self.command_stack) + ")"] += 1
        return original_pipe(self, *args, **kwargs)

    redis.Redis.execute_command = execute_command  # type: ignore[method-assign]
    redis.client.Pipeline.execute = pipe_execute  # type: ignore[method-assign]


def timed(call: Callable[[], Any], count: int) -> dict[str, Any]:
    cpu, wall = [], []
    for _ in range(count):
        c0, w0 = time.process_time(), time.perf_counter()
        call()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return {
        "count": count,
        "cpu_ms_median": round(statistics.median(cpu), 3),
        "cpu_ms_mean": round(statistics.fmean(cpu), 3),
        "wall_ms_median": round(statistics.median(wall), 3),
        "wall_ms_p90": round(sorted(wall)[int(0.9 * (count - 1))], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.roundtrips", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--fires", type=int, default=500)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # As under gunicorn and dramatiq: metrics in files (before prometheus_client loads).
    os.environ.setdefault(
        "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="routines-bench-prom-")
    )
    database_url = create_database("routines_bench")
    namespace = new_namespace("routines-bench")
    env = distributed_env(
        database_url,
        REDIS_URL,
        namespace,
        ROUTINES_RATE_LIMIT_PER_TRIGGER="0",
        ROUTINES_RATE_LIMIT_PER_CLIENT="0",
    )
    try:
        run_release(env)
        results = measure(env, args.fires)
    finally:
        drop_database(database_url)
        delete_namespace(namespace)
    results["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["command"] = command_line("bench.roundtrips", argv)
    results["machine"] = machine_facts()
    write_results(args.output, results)
    print_summary(results)
    say(f"wrote {args.output}")
    return 0


def measure(env: dict[str, str], fires: int) -> dict[str, Any]:
    # Imported only now: prometheus_client picks file-backed (multi-process) metrics at
    # import time if PROMETHEUS_MULTIPROC_DIR is set, and main() sets it first.
    from shared.platform.runtime import build_runtime
    from web.app import create_app
    from workers.actors import decide

    sink = open(os.devnull, "w")  # noqa: SIM115 (the log handler keeps it open)
    with contextlib.redirect_stderr(sink):
        configure_logging("web")  # its handler keeps the stream it saw: /dev/null
    settings = Settings.from_env(env)
    runtime = build_runtime(settings)
    tally = Tally()
    instrument(runtime.engine, tally)
    patch_redis(tally)
    client = create_app(runtime=runtime).test_client()
    api = Api(FlaskTransport(client), token=settings.admin_token)
    (target,) = make_webhook_targets(api, 1, "always_enqueue", "cost")
    seq = iter(range(10**9))

    def send(request: Request) -> str:
        method, path, body, headers = request
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code == 202, (response.status_code, response.get_data())
        return str(response.get_json()["id"])

    def webhook() -> str:
        return send(signed_webhooks([target], 1, next(seq))[0])

    def manual() -> str:
        return send(manual_runs([target.routine_id], settings.admin_token or "", 1, next(seq))[0])

    for _ in range(20):  # warm caches: compiled statements, Fernet, connections
        decide(runtime, uuid.UUID(webhook()))
        decide(runtime, uuid.UUID(manual()))
    out: dict[str, Any] = {}
    with tally.counting():
        run_id = webhook()
    out["webhook_fire"] = tally.summary()
    with tally.counting():
        decide(runtime, uuid.UUID(run_id))
    out["decide_webhook_run_issue_created"] = tally.summary()
    with tally.counting():
        run_id = manual()
    out["manual_run"] = tally.summary()
    say(f"timing {fires} requests of each kind, one at a time")
    noop_client = noop_app.test_client()
    body = signed_webhooks([target], 1, 0)[0][2]
    out["timing"] = {
        "noop_flask_request": timed(
            lambda: noop_client.post("/x", data=body, content_type="application/json"), fires
        ),
        "webhook_fire": timed(webhook, fires),
        "manual_run": timed(manual, fires),
    }
    pending = [uuid.UUID(webhook()) for _ in range(fires)]
    out["timing"]["decide_issue_created"] = timed(lambda: decide(runtime, pending.pop()), fires)
    pending = [uuid.UUID(webhook()) for _ in range(fires)]
    out["cprofile"] = {
        "webhook_fire": cprofile("inprocess-webhook", webhook, fires),
        "decide": cprofile("inprocess-decide", lambda: decide(runtime, pending.pop()), fires),
    }
    runtime.engine.dispose()
    return out


def cprofile(name: str, call: Callable[[], Any], count: int) -> dict[str, Any]:
    """cProfile on the CPU clock over `count` calls (its timer call inflates the total;
    the shares are what matter): own and cumulative CPU per function, also saved as
    bench/profiles/NAME.pstats (snakeviz or `python -m pstats` read it)."""
    profiler = cProfile.Profile(time.process_time)  # CPU, not waits on the network
    profiler.enable()
    for _ in range(count):
        call()
    profiler.disable()
    PROFILES.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(PROFILES / f"{name}.pstats")
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (path, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = path.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        rows.append((tottime, cumtime, ncalls, f"{func} ({short}:{line})"))
    rows.sort(reverse=True)
    by_cum = sorted(rows, key=lambda r: r[1], reverse=True)

    def table(items: list[tuple[float, float, int, str]]) -> list[dict[str, Any]]:
        return [
            {
                "function": f,
                "own_pct": round(100 * t / total, 1),
                "cum_pct": round(100 * c / total, 1),
                "calls_per_request": round(n / count, 1),
            }
            for t, c, n, f in items[:40]
        ]

    return {
        "file": f"bench/profiles/{name}.pstats",
        "requests": count,
        "total_s": round(total, 3),
        "by_own_time": table(rows),
        "by_cumulative_time": table(by_cum),
    }


def print_summary(results: dict[str, Any]) -> None:
    print()
    print("round trips per request (in-process, after warm-up):")
    for name in ("webhook_fire", "manual_run", "decide_webhook_run_issue_created"):
        r = results[name]
        print(
            f"  {name:<34} {r['sql_statements']:>3} SQL + {r['redis_commands']} Redis = "
            f"{r['round_trips_sql_and_redis']} round trips ({r['pool_checkouts']} pool checkout)"
        )
        for statement in r["sql"]:
            print(f"      {statement}")
        if r["redis"]:
            print(f"      redis: {r['redis']}")
    print("CPU and wall time per request, one at a time (ms):")
    for name, t in results["timing"].items():
        print(
            f"  {name:<34} cpu {t['cpu_ms_median']:>7} (mean {t['cpu_ms_mean']})"
            f"  wall {t['wall_ms_median']:>7} (p90 {t['wall_ms_p90']})"
        )
    for name, prof in results.get("cprofile", {}).items():
        print(f"cProfile, {name}: own time (% of profiled time, calls per request)")
        for row in prof["by_own_time"][:15]:
            print(f"  {row['own_pct']:>5}%  {row['calls_per_request']:>7}  {row['function']}")
    print()


if __name__ == "__main__":
    raise SystemExit(main())
