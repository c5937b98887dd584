"""Embedded mode (`routines up`: API, worker and scheduler in one process on SQLite):
webhook fires per second, and how many of them were decided.

The ceiling, measured in the same run, is the no-op Flask app (bench/noop_app.py) served
by the same server class the embedded mode uses, hit by wrk with the same requests; the
ratio says what the service costs over its own HTTP server on this machine. Every fire
is counted: runs recorded must equal fires accepted, and each must end decided.

    python -m bench.embedded [--duration 15] [--routines 20]

Written to bench/results/embedded.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.fixtures import make_webhook_targets
from bench.payloads import signed_webhooks
from bench.report import command_line, machine_facts, say, write_results
from bench.stack import HOST
from bench.stats import ratio
from bench.wrk import WrkSettings, run_wrk, summarize_wrk, write_wrk_data
from devstack.api import Api, HttpTransport
from devstack.processes import Process, answers, free_port, start_embedded, wait_for

RESULTS = Path(__file__).with_name("results") / "embedded.json"
#: Enough requests that wrk never runs out within the duration (each is used once).
REQUESTS_PER_SECOND_BOUND = 3_000


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    with tempfile.TemporaryDirectory(prefix="bench-embedded-") as scratch:
        work = Path(scratch)
        noop = _noop(work, args)
        service = _service(work, args)
    results = {
        "benchmark": "embedded",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command_line("bench.embedded", argv),
        "machine": machine_facts(),
        "settings": {"duration_s": args.duration, "routines": args.routines},
        "ceiling_noop": noop,
        "service": service,
        "ratios": {"accepted_to_noop": ratio(service["accepted_per_s"], noop["requests_per_s"])},
    }
    write_results(RESULTS, results)
    say(
        f"embedded: {service['accepted_per_s']:.0f} fires/s accepted, "
        f"{service['decided_per_s']:.0f}/s decided; no-op {noop['requests_per_s']:.0f} req/s; "
        f"ratio {results['ratios']['accepted_to_noop']}"
    )
    return 1 if _failures(service, args.connections) else 0


def _failures(service: dict[str, Any], connections: int) -> list[str]:
    """What was lost or doubled. wrk stops counting with up to one request in flight per
    connection, which the service still records: those are neither."""
    failures = []
    if service["recorded"] < service["accepted"]:
        failures.append(f"{service['accepted'] - service['recorded']} accepted fires have no run")
    if service["recorded"] > service["accepted"] + connections:
        failures.append(f"{service['recorded'] - service['accepted']} runs more than fires")
    if service["distinct_payloads"] != service["recorded"]:
        failures.append("a fire was recorded twice")
    if service["undecided"]:
        failures.append(f"{service['undecided']} runs never decided")
    for failure in failures:
        say(f"FAIL: {failure}")
    return failures


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.embedded", description=__doc__)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--routines", type=int, default=20)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    return parser.parse_args(argv)


def _noop(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    code = (
        "from launcher.embedded import serve_app; from bench.noop_app import app; "
        f"serve_app(app, host={HOST!r}, port={port})"
    )
    noop = Process("noop", [sys.executable, "-c", code], {}, work)
    try:
        wait_for(lambda: answers(f"http://{HOST}:{port}/"), timeout=60, what="the no-op app")
        say("embedded: the no-op ceiling")
        requests = [("POST", "/noop", b'{"a":1}', {"Content-Type": "application/json"})]
        data = write_wrk_data(requests, work / "noop.tsv")
        result = run_wrk(port, data, mode="cycle", duration=args.duration, settings=_wrk(args))
    finally:
        noop.stop()
    summary = summarize_wrk(result, ok_status="202")
    return {**summary, "requests_per_s": summary["accepted_per_s"]}


def _service(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    data_dir = work / "data"
    env = {"ROUTINES_RATE_LIMIT_PER_TRIGGER": "0", "ROUTINES_RATE_LIMIT_PER_CLIENT": "0"}
    service = start_embedded(data_dir, work, port=port, env=env)
    try:
        token = (data_dir / "admin-token").read_text().strip()
        api = Api(HttpTransport(f"http://{HOST}:{port}"), token=token)
        targets = make_webhook_targets(api, args.routines, "always_enqueue", "Embedded")
        count = int(args.duration * REQUESTS_PER_SECOND_BOUND)
        data = write_wrk_data(signed_webhooks(targets, count), work / "fires.tsv")
        say(f"embedded: firing at {args.routines} routines for {args.duration:.0f} s")
        started = time.monotonic()
        result = run_wrk(port, data, mode="once", duration=args.duration, settings=_wrk(args))
        load_s = time.monotonic() - started
        decided_in_window = _decided(data_dir)
        drained = _wait_drained(data_dir, args.drain_timeout)
    finally:
        service.stop()
    summary = summarize_wrk(result, ok_status="202")
    recorded, undecided = _counts(data_dir)
    with _database(data_dir) as db:
        (distinct,) = db.execute(
            "SELECT count(DISTINCT json_extract(trigger_payload, '$.seq')) FROM routine_runs"
        ).fetchone()
    return {
        "distinct_payloads": int(distinct),
        **summary,
        "decided_per_s": round(decided_in_window / load_s, 1),
        "recorded": recorded,
        "undecided": undecided,
        "drained_after_load_s": drained,
    }


def _wrk(args: argparse.Namespace) -> WrkSettings:
    return WrkSettings(threads=1, connections=args.connections, timeout_s=10.0)


def _database(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "routines.db", timeout=30)


def _counts(data_dir: Path) -> tuple[int, int]:
    with _database(data_dir) as db:
        (recorded,) = db.execute("SELECT count(*) FROM routine_runs").fetchone()
        (undecided,) = db.execute(
            "SELECT count(*) FROM routine_runs WHERE status = 'received'"
        ).fetchone()
    return int(recorded), int(undecided)


def _decided(data_dir: Path) -> int:
    recorded, undecided = _counts(data_dir)
    return recorded - undecided


def _wait_drained(data_dir: Path, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if _counts(data_dir)[1] == 0:
            return round(time.monotonic() - started, 2)
        time.sleep(0.5)
    return None


if __name__ == "__main__":
    sys.exit(main())
