"""PostgreSQL frozen (SIGSTOP on the postmaster and every backend) under running web,
worker and scheduler processes, on a PRIVATE cluster so that the machine's shared one
is never touched. Its kernel still accepts and acknowledges TCP, so no server-side
timeout and no keepalive can fire: only the client's own deadlines (shared/platform/db.py)
bound the wait. Every API call answers 503 within a bound derived from the configured
limits, the liveness probe keeps answering, and once PostgreSQL thaws the same
processes, never restarted, accept and decide runs again, including the one whose
worker thread was inside a transaction when PostgreSQL froze.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from devstack.api import Api, Response, make_world
from devstack.processes import Process, metrics_url, wait_for
from shared.platform.db import DEADLINE_GRACE_SECONDS
from tests.support.ledger import wait_until_decided
from tests.support.load import Outcome, timed_call
from tests.support.private_stack import Services, ServicesOptions
from tests.support.servers import PostgresServer

STATEMENT_TIMEOUT_SECONDS = 1.5
CONNECT_TIMEOUT_SECONDS = 1.0
#: Short limits, given to every process through the environment.
DB_LIMITS = {
    "ROUTINES_DB_STATEMENT_TIMEOUT_MS": str(int(STATEMENT_TIMEOUT_SECONDS * 1000)),
    "ROUTINES_DB_LOCK_TIMEOUT_MS": "1000",
    "ROUTINES_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "5000",
    "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": str(CONNECT_TIMEOUT_SECONDS),
}
#: The longest answer while PostgreSQL is frozen: a statement gives up after the
#: statement timeout and a grace second; a checkout pings an idle connection, then tries
#: a new one, each for the connect timeout. Plus room for a busy machine.
ANSWER_WITHIN = STATEMENT_TIMEOUT_SECONDS + CONNECT_TIMEOUT_SECONDS + 2.0
#: What the worker thread caught inside a transaction logs when its deadline passes.
STUCK_GIVES_UP = f"did not answer within {STATEMENT_TIMEOUT_SECONDS + DEADLINE_GRACE_SECONDS:g} s"
RECOVERED_WITHIN = 10.0
DECIDED_WITHIN = 30.0
SERVICES = ServicesOptions(client_timeout=2 * ANSWER_WITHIN, env=DB_LIMITS, warm_up=True)


@pytest.fixture(scope="module")
def fleet(services: Services) -> Services:
    """The module's web, worker and scheduler, with the short limits and warmed up."""
    return services


@contextmanager
def routine_locked(engine: Engine, routine_id: str) -> Iterator[None]:
    """The routine's row locked the way that blocks a decision (FOR NO KEY UPDATE) but not
    a fire (whose foreign key takes FOR KEY SHARE)."""
    with engine.connect() as connection:
        connection.execute(
            text("SELECT 1 FROM routines WHERE id = :id FOR NO KEY UPDATE"), {"id": routine_id}
        )
        try:
            yield
        finally:
            connection.rollback()


def a_decision_waits_for_the_lock(engine: Engine) -> bool:
    """A lock statement waiting: its text, or the EXECUTE of its prepared form."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND (query LIKE '%FOR%UPDATE%' OR query LIKE 'EXECUTE routines\\_lock\\_%') "
        "AND pid <> pg_backend_pid()"
    )
    with engine.connect() as connection:
        return bool(connection.execute(query).scalar_one())


@contextmanager
def frozen(postgres: PostgresServer) -> Iterator[None]:
    postgres.freeze()
    try:
        yield
    finally:
        postgres.thaw()


def probe(process: Process, path: str) -> Response:
    """A worker's own probe server (its metrics port)."""
    url = metrics_url(process) + path
    try:
        with urllib.request.urlopen(url, timeout=2 * ANSWER_WITHIN) as r:
            return Response(r.status, json.loads(r.read()))
    except urllib.error.HTTPError as error:
        return Response(error.code, json.loads(error.read()))


@dataclass(frozen=True)
class Answers:
    calls: dict[str, Outcome]
    lives: list[Outcome]


def all_at_once(calls: dict[str, Callable[[], Response]]) -> dict[str, Outcome]:
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = {name: pool.submit(timed_call, call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def with_liveness(api: Api, calls: dict[str, Callable[[], Response]]) -> Answers:
    """The calls at once and, until they have all answered, GET /api/health/live every
    quarter second."""
    with ThreadPoolExecutor(1) as pool:
        answered = pool.submit(all_at_once, calls)
        lives = [timed_call(lambda: api.as_(None).get("/api/health/live"))]
        while not answered.done():
            time.sleep(0.25)
            lives.append(timed_call(lambda: api.as_(None).get("/api/health/live")))
        return Answers(answered.result(), lives)


def calls_while_frozen(fleet: Services, world: Any, public_id: str) -> dict[str, Callable[[], Any]]:
    routine_id = world.routine["id"]
    anonymous = fleet.api.as_(None)
    return {
        "manual run": lambda: fleet.api.post(f"/api/routines/{routine_id}/run", {}),
        "webhook fire": lambda: anonymous.post(
            f"/api/routine-triggers/public/{public_id}/fire", {}
        ),
        "read routine": lambda: fleet.api.get(f"/api/routines/{routine_id}"),
        "list runs": lambda: fleet.api.get(f"/api/routines/{routine_id}/runs"),
        "health": lambda: anonymous.get("/api/health"),
        "worker health": lambda: probe(fleet.worker, "/health"),
    }


def first_accepted_fire(api: Api, routine_id: str) -> tuple[str, float]:
    """Fire until one is accepted; its run id and how long after the thaw it came."""
    started = time.monotonic()
    while True:
        response = api.post(f"/api/routines/{routine_id}/run", {})
        waited = time.monotonic() - started
        if response.status == 202 or waited > RECOVERED_WITHIN:
            assert response.status == 202, (waited, response.body)
            return str(response.body["id"]), waited
        time.sleep(0.2)


def test_while_postgres_is_frozen_every_call_answers_503_in_bounded_time_then_all_recovers(
    fleet: Services,
) -> None:
    pids = (fleet.worker.pid, fleet.scheduler.pid)
    world = make_world(fleet.api, concurrencyPolicy="always_enqueue")
    public_id = fleet.api.ok(
        "POST",
        f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "webhook", "signingMode": "none"},
    )["trigger"]["publicId"]
    stuck = make_world(fleet.api).routine["id"]
    calls = calls_while_frozen(fleet, world, public_id)

    with routine_locked(fleet.engine, stuck):
        stuck_run = fleet.api.ok("POST", f"/api/routines/{stuck}/run", {})["id"]
        wait_for(lambda: a_decision_waits_for_the_lock(fleet.engine), timeout=5, what="a lock wait")
        with frozen(fleet.postgres):
            got = with_liveness(fleet.api, calls)
            wait_for(
                lambda: STUCK_GIVES_UP in fleet.worker.output(),
                timeout=ANSWER_WITHIN,
                what="the worker thread caught in a transaction to give up",
            )

    outcomes, lives = got.calls, got.lives
    for name, outcome in outcomes.items():
        assert outcome.status == 503, (name, outcome)
        assert outcome.seconds < ANSWER_WITHIN, (name, outcome.seconds)
    assert outcomes["manual run"].body == {"error": "Database unavailable"}
    assert outcomes["health"].body["checks"]["database"]["ok"] is False
    assert all(live.status == 200 for live in lives), lives
    assert max(live.seconds for live in lives) < ANSWER_WITHIN

    fired, waited = first_accepted_fire(fleet.api, world.routine["id"])
    ledger = wait_until_decided(
        fleet.engine, [world.routine["id"], stuck], timeout=DECIDED_WITHIN, expected=2
    )
    statuses = {run.id: run.status for run in ledger.runs}
    assert statuses[fired] == "issue_created"
    assert statuses[stuck_run] == "issue_created", "the stuck thread's run is decided"
    wait_for(lambda: probe(fleet.worker, "/health").status == 200, timeout=10, what="readiness")
    assert (fleet.worker.pid, fleet.scheduler.pid) == pids
    assert fleet.worker.alive()
    assert fleet.scheduler.alive()
    slowest = max(outcome.seconds for outcome in outcomes.values())
    print(
        f"\npostgres frozen: {len(outcomes)} calls all 503, slowest {slowest:.2f} s "
        f"(bound {ANSWER_WITHIN:.1f} s); {len(lives)} liveness 200s, slowest "
        f"{max(live.seconds for live in lives):.3f} s; first fire accepted {waited:.2f} s "
        "after the thaw"
    )
