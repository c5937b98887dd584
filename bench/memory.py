"""Memory benchmark: resident memory of web, worker and scheduler, idle and under fires.

    .venv/bin/python -m bench.memory [--fires 100000] [--batch 10000] [--connections 32]

On a fresh database and Redis namespace (removed afterwards), starts gunicorn (web),
dramatiq (worker) and the scheduler as separate processes, gives the scheduler some
work (schedule triggers due every minute), and records the memory of each process group
(gunicorn master + workers; dramatiq main + worker processes + its metrics fork; the
scheduler), summed over the group's processes: RSS and PSS (which does not count pages
shared after fork twice), read with psutil:

- idle, after start-up and the fixtures;
- after every batch of webhook fires (wrk replaying signed requests, each used once),
  once the worker has decided the batch;
- idle again, some seconds after the last batch.

Growth is judged against noise: the change from half-way (50,000 fires) to the end
(100,000) against the largest change between two consecutive checkpoints in the first
half (after the first batch, which warms caches and pools). Figures are printed and
written to bench/results/memory.json.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fixtures import bench_world, make_routine_with_policy, make_webhook_targets
from bench.payloads import signed_webhooks
from bench.procstats import group_pids, pss_kb, rss_kb, wait_quiet
from bench.report import command_line, machine_facts, say, write_results
from bench.runs import wait_drained
from bench.stack import Sizes, Stack, distributed_stack, wait_worker_ready
from bench.wrk import WrkSettings, require_wrk, run_wrk, summarize_wrk, write_wrk_data

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "memory.json"
GROUPS = ("web", "worker", "scheduler")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--fires", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--routines", type=int, default=100)
    parser.add_argument("--schedule-triggers", type=int, default=20)
    Sizes.add_options(parser)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=900.0, help="per batch")
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def snapshot(stack: Stack) -> dict[str, Any]:
    """RSS and PSS (KiB) of each process group, and of each of its processes."""
    out: dict[str, Any] = {}
    for name in GROUPS:
        process = stack.processes.get(name)
        if process is None:
            continue
        pids = group_pids(process.pid)
        each = [{"pid": p, "rss_kb": rss_kb(p), "pss_kb": pss_kb(p)} for p in pids]
        out[name] = {
            "rss_kb": sum(e["rss_kb"] for e in each),
            "pss_kb": sum(e["pss_kb"] for e in each),
            "processes": each,
        }
    return out


def idle_snapshot(stack: Stack, seconds: float, samples: int = 5) -> dict[str, Any]:
    """The median of a few snapshots over `seconds` of idleness."""
    taken = []
    for _ in range(samples):
        time.sleep(seconds / samples)
        taken.append(snapshot(stack))
    out = taken[-1]
    for name in out:
        for key in ("rss_kb", "pss_kb"):
            out[name][key] = int(statistics.median(t[name][key] for t in taken))
    return out


def mib(kb: int | float) -> float:
    return round(kb / 1024, 1)


def verdict(checkpoints: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """Per group: growth from half-way to the end, against checkpoint-to-checkpoint noise."""
    out: dict[str, Any] = {}
    n = len(checkpoints)
    if n < 3:
        return out
    total = checkpoints[-1]["fires"]
    half = min(range(n), key=lambda i: abs(checkpoints[i]["fires"] - total / 2))
    for name in GROUPS:
        series = [c["memory"][name][key] for c in checkpoints if name in c["memory"]]
        if len(series) != n:
            continue
        first_half = series[1 : half + 1]
        steps = [abs(b - a) for a, b in itertools.pairwise(first_half)]
        noise = max(steps, default=0)
        growth = series[-1] - series[half]
        allowance = max(noise, 0.02 * series[half], 2048)
        out[name] = {
            "at_half_mib": mib(series[half]),
            "at_end_mib": mib(series[-1]),
            "growth_second_half_mib": mib(growth),
            "noise_first_half_mib": mib(noise),
            "allowance_mib": mib(allowance),
            "grows_beyond_noise": growth > allowance,
            "half_at_fires": checkpoints[half]["fires"],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_wrk()
    quiet = wait_quiet(args.quiet_wait)
    say(f"machine before start: {quiet}")
    results: dict[str, Any] = {
        "benchmark": "memory",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line("bench.memory", argv),
        "machine": machine_facts(),
        "machine_load": quiet,
        "settings": {
            "gunicorn_workers": args.web_workers,
            "web_threads": args.web_threads,
            "dramatiq_processes": args.worker_processes,
            "dramatiq_threads": args.worker_threads,
            "fires": args.fires,
            "batch": args.batch,
            "routines": args.routines,
            "schedule_triggers": args.schedule_triggers,
            "wrk": f"-t {args.wrk_threads} -c {args.connections}",
        },
    }
    sizes = Sizes.of(args)
    work = Path(tempfile.mkdtemp(prefix="routines-bench-mem-"))
    try:
        with distributed_stack(sizes, scheduler=True) as stack:
            run(args, stack, work, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_results(args.output, results)
    print_summary(results)
    say(f"wrote {args.output}")
    return 0


def run(args: argparse.Namespace, stack: Stack, work: Path, results: dict[str, Any]) -> None:
    api = stack.api()
    say(f"fixtures: {args.routines} webhook routines, {args.schedule_triggers} schedules")
    targets = make_webhook_targets(api, args.routines, "always_enqueue", "mem")
    company, agent, project = bench_world(api)
    for n in range(args.schedule_triggers):
        routine = make_routine_with_policy(
            api, company, agent, project, "coalesce_if_active", f"tick {n}"
        )
        api.ok(
            "POST",
            f"/api/routines/{routine['id']}/triggers",
            {"kind": "schedule", "cronExpression": "* * * * *", "timezone": "UTC"},
            status=201,
        )
    wait_worker_ready(stack)
    ids = [t.routine_id for t in targets]
    say(f"idle for {args.idle_seconds:.0f} s")
    results["idle_start"] = idle_snapshot(stack, args.idle_seconds)
    checkpoints: list[dict[str, Any]] = [
        {"fires": 0, "memory": results["idle_start"], "accepted": 0}
    ]
    settings = WrkSettings(args.wrk_threads, args.connections, 10.0)
    fired = accepted = errors = 0
    started = time.monotonic()
    batches: list[dict[str, Any]] = []
    while fired < args.fires:
        count = min(args.batch, args.fires - fired)
        data = write_wrk_data(signed_webhooks(targets, count, fired), work / "batch.tsv")
        since = datetime.now(UTC)
        # A generous bound (5 fires/s): wrk is stopped as soon as all are answered.
        raw = run_wrk(stack.port, data, mode="once", duration=count / 5 + 60, settings=settings)
        summary = summarize_wrk(raw, ok_status="202")
        drain = wait_drained(stack.engine, ids, since, args.drain_timeout)
        fired += count
        accepted += summary["accepted"]
        errors += summary["error_count"]
        memory = snapshot(stack)
        checkpoints.append({"fires": fired, "memory": memory, "accepted": accepted})
        batches.append(
            {
                "fires": count,
                "accepted": summary["accepted"],
                "accepted_per_s": summary["accepted_per_s"],
                "errors": summary["error_count"],
                "drain_s": drain["drain_s"],
                "backlog_left": drain["backlog_left"],
            }
        )
        say(
            f"  {fired} fires ({summary['accepted_per_s']:.0f}/s, drained in "
            f"{drain['drain_s']} s, errors {summary['error_count']}): "
            + ", ".join(f"{g} {mib(memory[g]['rss_kb'])} MiB" for g in GROUPS if g in memory)
        )
    results["load_s"] = round(time.monotonic() - started, 1)
    say(f"idle for {args.idle_seconds:.0f} s after the last batch")
    results["idle_end"] = idle_snapshot(stack, args.idle_seconds)
    results["fires"] = {"sent": fired, "accepted": accepted, "errors": errors}
    results["batches"] = batches
    results["checkpoints"] = [
        {
            "fires": c["fires"],
            **{
                g: {
                    "rss_mib": mib(c["memory"][g]["rss_kb"]),
                    "pss_mib": mib(c["memory"][g]["pss_kb"]),
                }
                for g in GROUPS
                if g in c["memory"]
            },
        }
        for c in checkpoints
    ]
    results["growth_rss"] = verdict(checkpoints, "rss_kb")
    results["growth_pss"] = verdict(checkpoints, "pss_kb")
    results["no_growth_beyond_noise"] = not any(
        v["grows_beyond_noise"] for v in results["growth_rss"].values()
    )


def print_summary(results: dict[str, Any]) -> None:
    print()
    print(
        f"memory benchmark, {results['date']}, commit {results['machine']['git_commit']}, "
        f"{results['fires']['sent']} fires ({results['fires']['accepted']} accepted, "
        f"{results['fires']['errors']} errors) in {results['load_s']} s"
    )
    header = f"{'group':<11}{'idle':>9}"
    points = results["checkpoints"][1:]
    header += "".join(f"{c['fires'] / 1000:>8g}k" for c in points)
    header += f"{'idle end':>10}{'growth':>9}{'noise':>8}  verdict (RSS MiB)"
    print(header)
    print("-" * len(header))
    for group in GROUPS:
        if group not in results["idle_start"]:
            continue
        row = f"{group:<11}{mib(results['idle_start'][group]['rss_kb']):>9}"
        row += "".join(f"{c[group]['rss_mib']:>9}" for c in points)
        row += f"{mib(results['idle_end'][group]['rss_kb']):>10}"
        v = results["growth_rss"].get(group)
        if v:
            flag = "GROWS" if v["grows_beyond_noise"] else "flat"
            row += f"{v['growth_second_half_mib']:>9}{v['noise_first_half_mib']:>8}  {flag}"
        print(row)
    print()


if __name__ == "__main__":
    raise SystemExit(main())
