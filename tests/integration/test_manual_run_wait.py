"""`Prefer: wait=N` on a manual run (API.md 5.1): the answer waits for the worker's
decision, at most N seconds (N capped at 30), and says so in `Preference-Applied`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import dramatiq
import pytest
from sqlalchemy import event, text

from devstack.api import Api, FlaskTransport, Response, make_world
from shared.platform.runtime import Runtime
from shared.runs.waiting import DecisionBoard
from web.app import create_app


@contextmanager
def worker_running(runtime: Runtime) -> Iterator[None]:
    """A real dramatiq worker deciding runs in the background while the request waits."""
    worker = dramatiq.Worker(runtime.broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        yield
    finally:
        worker.stop()


def timed_run(api: Api, routine: dict[str, Any], prefer: str | None) -> tuple[Response, float]:
    headers = {"Prefer": prefer} if prefer is not None else {}
    started = time.monotonic()
    response = api.call("POST", f"/api/routines/{routine['id']}/run", {}, **headers)
    return response, time.monotonic() - started


def run_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM routine_runs")).scalar_one())


def test_waiting_returns_the_decided_run_as_soon_as_the_worker_decides(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    with worker_running(runtime):
        response, elapsed = timed_run(api, world.routine, "wait=5")
    assert response.status == 202
    assert response.headers["Preference-Applied"] == "wait=5"
    assert response.body["status"] == "issue_created"
    assert response.body["linkedIssue"]["id"] == response.body["linkedIssueId"]
    assert elapsed < 5
    assert api.ok("GET", f"/api/routine-runs/{response.body['id']}") == response.body


def test_waiting_without_a_worker_gives_up_after_n_seconds_with_the_received_run(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    response, elapsed = timed_run(api, world.routine, "wait=1")
    assert response.status == 202
    assert response.headers["Preference-Applied"] == "wait=1"
    assert response.body["status"] == "received"
    assert response.body["linkedIssue"] is None
    assert 1 <= elapsed < 4
    assert run_count(runtime) == 1


@pytest.mark.parametrize(("asked", "applied"), [("wait=45", "wait=30"), ("wait=30", "wait=30")])
def test_a_wait_above_30_seconds_is_capped_at_30(
    api: Api, runtime: Runtime, asked: str, applied: str
) -> None:
    world = make_world(api)
    with worker_running(runtime):
        response, elapsed = timed_run(api, world.routine, asked)
    assert response.status == 202
    assert response.headers["Preference-Applied"] == applied
    assert response.body["status"] == "issue_created"
    assert elapsed < 10


def test_the_wait_preference_is_found_among_other_preferences(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    with worker_running(runtime):
        response, _ = timed_run(api, world.routine, "return=minimal, wait=3")
    assert response.headers["Preference-Applied"] == "wait=3"
    assert response.body["status"] == "issue_created"


@pytest.mark.parametrize("prefer", [None, "return=minimal", "wait=soon", "respond-async"])
def test_without_a_wait_preference_the_answer_is_immediate_and_says_nothing(
    api: Api, prefer: str | None
) -> None:
    world = make_world(api)
    response, elapsed = timed_run(api, world.routine, prefer)
    assert response.status == 202
    assert "Preference-Applied" not in response.headers
    assert response.body["status"] == "received"
    assert elapsed < 1


def test_a_refused_run_is_answered_at_once_whatever_the_wait(api: Api, runtime: Runtime) -> None:
    world = make_world(api, title="For {{ team }}")
    response, elapsed = timed_run(api, world.routine, "wait=5")
    assert (response.status, response.error) == (422, "Missing routine variables: team")
    assert elapsed < 1
    assert run_count(runtime) == 0


def test_a_repeated_idempotency_key_waits_on_the_first_run(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}/run"
    first = api.post(path, {"idempotencyKey": "k-1"})
    with worker_running(runtime):
        again = api.call("POST", path, {"idempotencyKey": "k-1"}, Prefer="wait=5")
    assert again.status == 202
    assert again.body["id"] == first.body["id"]
    assert again.body["status"] == "issue_created"
    assert run_count(runtime) == 1


def test_an_absurdly_long_wait_is_capped_not_a_server_error(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    with worker_running(runtime):
        response, _ = timed_run(api, world.routine, "wait=" + "9" * 5000)
    assert response.status == 202
    assert response.headers["Preference-Applied"] == "wait=30"


def test_beyond_the_waiter_bound_a_request_is_answered_at_once_without_waiting(
    runtime: Runtime,
) -> None:
    bounded = replace(runtime, decisions=DecisionBoard(max_waiters=1))
    api = Api(FlaskTransport(create_app(runtime=bounded).test_client()))
    world = make_world(api)
    first: list[tuple[Response, float]] = []
    waiter = threading.Thread(target=lambda: first.append(timed_run(api, world.routine, "wait=3")))
    waiter.start()
    time.sleep(0.5)  # the first request is waiting now (no worker runs)
    second, elapsed = timed_run(api, world.routine, "wait=3")
    waiter.join(10)
    assert second.status == 202
    assert "Preference-Applied" not in second.headers
    assert second.body["status"] == "received"
    assert elapsed < 2
    ((response, _),) = first
    assert response.headers["Preference-Applied"] == "wait=3"


def test_a_wait_reads_the_run_about_once_a_second_not_continuously(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    reads: list[str] = []

    def count_reads(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("SELECT routine_runs.status"):
            reads.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", count_reads)
    try:
        response, _ = timed_run(api, world.routine, "wait=2")
    finally:
        event.remove(runtime.engine, "before_cursor_execute", count_reads)
    assert response.body["status"] == "received"
    assert 2 <= len(reads) <= 4
