"""Many things at once on real PostgreSQL: row locks and unique indexes keep the rules true
(API.md 2, 5.2 and 6)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from devstack.api import Api, FlaskTransport, fire, make_company, make_world
from shared.platform.runtime import Runtime
from shared.runs.deciding import Outcome
from web.app import create_app
from workers.actors import decide

THREADS = 30
T = TypeVar("T")


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in `count` threads released together by a barrier; results in order.
    An exception in any thread fails the test."""
    barrier = threading.Barrier(count, timeout=30)

    def start_then_work(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start_then_work, index) for index in range(count)]
        return [future.result(timeout=60) for future in futures]


def execution_issues(api: Api, world: Any) -> list[dict[str, Any]]:
    return api.ok(
        "GET",
        f"/api/companies/{world.company['id']}/issues?originKind=routine_execution"
        f"&originId={world.routine['id']}",
    )


def runs_by_id(api: Api, routine: dict[str, Any]) -> dict[str, dict[str, Any]]:
    runs = api.ok("GET", f"/api/routines/{routine['id']}/runs?limit=200")
    return {run["id"]: run for run in runs}


def received_runs(api: Api, routine: dict[str, Any], count: int) -> list[str]:
    """Record `count` runs without deciding any (nothing drains the queue)."""
    run_ids = [fire(api, routine)["id"] for _ in range(count)]
    assert {run["status"] for run in runs_by_id(api, routine).values()} == {"received"}
    return run_ids


@pytest.mark.parametrize(
    ("policy", "others"),
    [("coalesce_if_active", "coalesced"), ("skip_if_active", "skipped")],
)
def test_concurrent_decisions_of_one_routine_create_exactly_one_issue(
    api: Api, runtime: Runtime, policy: str, others: str
) -> None:
    world = make_world(api, concurrencyPolicy=policy)
    run_ids = received_runs(api, world.routine, THREADS)

    decisions = all_at_once(THREADS, lambda i: decide(runtime, uuid.UUID(run_ids[i])))

    assert Counter(d.outcome for d in decisions) == {
        Outcome.ISSUE_CREATED: 1,
        Outcome(others): THREADS - 1,
    }
    (issue,) = execution_issues(api, world)
    runs = runs_by_id(api, world.routine)
    assert Counter(run["status"] for run in runs.values()) == {
        "issue_created": 1,
        others: THREADS - 1,
    }
    (creator,) = [run for run in runs.values() if run["status"] == "issue_created"]
    assert issue["originRunId"] == creator["id"]
    for run in runs.values():
        assert run["linkedIssueId"] == issue["id"]
        if run["id"] != creator["id"]:
            assert run["coalescedIntoRunId"] == creator["id"]
            assert run["completedAt"] is not None


def test_concurrent_decisions_of_an_always_enqueue_routine_create_an_issue_each(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api, concurrencyPolicy="always_enqueue")
    run_ids = received_runs(api, world.routine, THREADS)

    decisions = all_at_once(THREADS, lambda i: decide(runtime, uuid.UUID(run_ids[i])))

    assert {d.outcome for d in decisions} == {Outcome.ISSUE_CREATED}
    issues = execution_issues(api, world)
    assert len(issues) == THREADS
    prefix = world.company["issuePrefix"]
    identifiers = {issue["identifier"] for issue in issues}
    assert identifiers == {f"{prefix}-{n}" for n in range(1, THREADS + 1)}
    assert {issue["originRunId"] for issue in issues} == set(run_ids)
    runs = runs_by_id(api, world.routine)
    assert {run["status"] for run in runs.values()} == {"issue_created"}
    assert len({run["linkedIssueId"] for run in runs.values()}) == THREADS


def test_one_run_decided_by_many_workers_at_once_is_decided_once(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api, concurrencyPolicy="always_enqueue")
    (run_id,) = received_runs(api, world.routine, 1)

    decisions = all_at_once(THREADS, lambda _i: decide(runtime, uuid.UUID(run_id)))

    outcomes = Counter(d.outcome for d in decisions)
    assert outcomes == {Outcome.ISSUE_CREATED: 1, Outcome.ALREADY_DECIDED: THREADS - 1}
    (issue,) = execution_issues(api, world)
    assert {d.issue_id for d in decisions} == {uuid.UUID(issue["id"])}


def test_concurrent_fires_with_one_idempotency_key_record_one_run(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    clients = [
        Api(FlaskTransport(create_app(runtime=runtime).test_client())) for _ in range(THREADS)
    ]
    path = f"/api/routines/{world.routine['id']}/run"

    responses = all_at_once(
        THREADS, lambda i: clients[i].post(path, {"idempotencyKey": "same-key"})
    )

    assert [r.status for r in responses] == [202] * THREADS
    assert len({r.body["id"] for r in responses}) == 1
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id::text, idempotency_key FROM routine_runs WHERE routine_id = :id"),
            {"id": world.routine["id"]},
        ).all()
    assert [tuple(row) for row in rows] == [(responses[0].body["id"], "same-key")]


def test_concurrent_issue_creation_hands_out_each_identifier_once(
    api: Api, runtime: Runtime
) -> None:
    company = make_company(api, "Busy", issuePrefix="BSY")
    clients = [
        Api(FlaskTransport(create_app(runtime=runtime).test_client())) for _ in range(THREADS)
    ]
    path = f"/api/companies/{company['id']}/issues"

    responses = all_at_once(THREADS, lambda i: clients[i].post(path, {"title": f"Issue {i}"}))

    assert [r.status for r in responses] == [201] * THREADS
    identifiers = sorted(r.body["identifier"] for r in responses)
    assert identifiers == sorted(f"BSY-{n}" for n in range(1, THREADS + 1))
