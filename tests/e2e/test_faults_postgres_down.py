"""PostgreSQL stopped for a few seconds under running processes, on a PRIVATE cluster
so that the machine's shared one is never touched: the API answers 503 with a clear
error at once (never a 500, never a hang), /api/health and the workers' and
scheduler's probes name `database`, and once PostgreSQL is back the same worker and
scheduler processes (never restarted) decide everything.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from devstack.api import Api, Response, make_unsigned_hook, make_world
from devstack.processes import (
    Process,
    free_port,
    metrics_url,
    running,
    scrape,
    start_web,
    wait_for,
)
from shared.models import Routine
from shared.platform.broker import Enqueuer, build_broker
from shared.platform.settings import Settings
from shared.runs.recording import RunRequest, record_run
from tests.support.ledger import wait_until_decided
from tests.support.load import Outcome, http_api, timed_call
from tests.support.private_stack import PrivateStack, Services, ServicesOptions

#: The longest any answer may take while PostgreSQL is away.
ANSWER_WITHIN = 5.0
DOWN_FOR = 4.0
DECIDED_WITHIN = 30.0
SERVICES = ServicesOptions(client_timeout=ANSWER_WITHIN, warm_up=True)


@dataclass(frozen=True)
class Fleet:
    api: Api
    engine: Engine
    world: Any
    worker: Process
    scheduler: Process


@pytest.fixture
def fleet(services: Services) -> Fleet:
    """The module's processes and an always_enqueue routine of this test's own."""
    world = make_world(services.api, concurrencyPolicy="always_enqueue")
    return Fleet(services.api, services.engine, world, services.worker, services.scheduler)


def probe(process: Process, path: str) -> tuple[int, Any]:
    """A worker's or the scheduler's own probe server (its metrics port)."""
    try:
        with urllib.request.urlopen(metrics_url(process) + path, timeout=ANSWER_WITHIN) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def fire_once_the_api_answers(api: Api, routine_id: str) -> str:
    """A manual run, retried while the web answers 503 just after PostgreSQL returned
    (a defect of its own, see the xfail test below); the run id."""
    deadline = time.monotonic() + 15
    while True:
        response = api.post(f"/api/routines/{routine_id}/run", {})
        if response.status == 202 or time.monotonic() > deadline:
            assert response.status == 202, response.body
            return str(response.body["id"])
        time.sleep(0.2)


def transient_errors(worker: Process) -> float:
    metric = 'routines_dispatch_errors_total{kind="transient"}'
    return scrape(metrics_url(worker) + "/metrics").get(metric, 0.0)


def record_without_message(engine: Engine, routine_id: str) -> str:
    """A run recorded exactly as a fire records it, whose broker message is lost."""
    with Session(engine) as session, session.begin():
        routine = session.get(Routine, uuid.UUID(routine_id))
        assert routine is not None
        recorded = record_run(
            session, routine=routine, request=RunRequest(source="api"), now=datetime.now(UTC)
        )
        return str(recorded.run.id)


def test_while_postgres_is_stopped_the_api_answers_503_at_once_and_health_names_the_database(
    private_stack: PrivateStack, fleet: Fleet
) -> None:
    routine_id, company_id = fleet.world.routine["id"], fleet.world.company["id"]
    hook = make_unsigned_hook(fleet.api, fleet.world.routine)
    calls: dict[str, Callable[[], Response]] = {
        "fire": lambda: fleet.api.post(f"/api/routines/{routine_id}/run", {}),
        "webhook fire": lambda: fleet.api.as_(None).post(hook, {}),
        "read routine": lambda: fleet.api.get(f"/api/routines/{routine_id}"),
        "list runs": lambda: fleet.api.get(f"/api/routines/{routine_id}/runs"),
        "list issues": lambda: fleet.api.get(f"/api/companies/{company_id}/issues"),
        "create routine": lambda: fleet.api.post(
            f"/api/companies/{company_id}/routines",
            {"title": "x", "assigneeAgentId": fleet.world.agent["id"]},
        ),
    }

    private_stack.postgres.stop()
    try:
        answers: dict[str, Outcome] = {name: timed_call(call) for name, call in calls.items()}
        health = timed_call(lambda: fleet.api.as_(None).get("/api/health"))
        worker_health = probe(fleet.worker, "/health")
        scheduler_health = probe(fleet.scheduler, "/health")
    finally:
        private_stack.postgres.start()

    for name, answer in answers.items():
        assert answer.status == 503, (name, answer)
        assert answer.body == {"error": "Database unavailable"}, (name, answer.body)
        assert answer.seconds < ANSWER_WITHIN, (name, answer.seconds)
    assert health.status == 503
    assert health.seconds < ANSWER_WITHIN
    assert "database" in health.body["failed"]
    assert health.body["checks"]["database"]["ok"] is False
    assert health.body["checks"]["broker"]["ok"] is True, "only the database is named"
    for status, body in (worker_health, scheduler_health):
        assert status == 503
        assert body["checks"]["database"]["ok"] is False
    wait_for(lambda: fleet.api.get("/api/health").status == 200, timeout=15, what="health")
    slowest = max(a.seconds for a in answers.values())
    print(f"\npostgres stopped: {len(answers)} calls all 503, slowest {slowest:.3f} s")


def test_after_postgres_returns_the_same_worker_and_scheduler_decide_everything(
    private_stack: PrivateStack, fleet: Fleet
) -> None:
    routine_id = fleet.world.routine["id"]
    pids = (fleet.worker.pid, fleet.scheduler.pid)
    tick_failures = fleet.scheduler.output().count("scheduler tick failed")
    # A run whose message reaches the worker while PostgreSQL is away: the dispatch
    # fails transiently and must be retried, not failed.
    transient_before = transient_errors(fleet.worker)
    retried = record_without_message(fleet.engine, routine_id)
    broker = build_broker(Settings.from_env(private_stack.env))
    try:
        private_stack.postgres.stop()
        try:
            assert Enqueuer(broker).dispatch_run(uuid.UUID(retried))
            time.sleep(DOWN_FOR)
            assert fleet.worker.alive()
            assert fleet.scheduler.alive()
        finally:
            private_stack.postgres.start()
    finally:
        broker.close()

    fired = fire_once_the_api_answers(fleet.api, routine_id)
    swept = record_without_message(fleet.engine, routine_id)  # only the sweep can decide it
    ledger = wait_until_decided(fleet.engine, [routine_id], timeout=DECIDED_WITHIN, expected=3)

    statuses = {run.id: run.status for run in ledger.runs}
    assert statuses[retried] == "issue_created", "a transient error never fails a run"
    assert statuses[fired] == "issue_created"
    assert statuses[swept] == "issue_created"
    ledger.assert_each_run_decided_once([retried, fired, swept])
    assert (fleet.worker.pid, fleet.scheduler.pid) == pids
    assert fleet.worker.alive()
    assert fleet.scheduler.alive()
    transient = transient_errors(fleet.worker) - transient_before
    assert transient >= 1, "the worker met the outage and retried"
    assert fleet.scheduler.output().count("scheduler tick failed") > tick_failures
    print(f"\npostgres stopped {DOWN_FOR} s: {transient:.0f} transient dispatch errors retried")


def test_right_after_postgres_returns_the_first_requests_are_answered(
    private_stack: PrivateStack, tmp_path: Path
) -> None:
    """One gunicorn worker of its own, so that its pool is the one the outage broke."""
    port = free_port()
    web = start_web(private_stack.env, tmp_path, port=port, workers=1)
    with running(web):
        api = http_api(port, timeout=ANSWER_WITHIN)
        routine_id = make_world(api, concurrencyPolicy="always_enqueue").routine["id"]
        for _ in range(5):
            api.ok("POST", f"/api/routines/{routine_id}/run", {})
        private_stack.postgres.stop()
        time.sleep(1.0)
        private_stack.postgres.start()
        after = [
            timed_call(lambda: api.post(f"/api/routines/{routine_id}/run", {})) for _ in range(5)
        ]
    print(f"\nright after the restart: {[o.status for o in after]}")
    assert [o.status for o in after] == [202] * 5, [o.body for o in after]
