"""Races over real HTTP: gunicorn (2 workers x 4 threads) and two dramatiq worker
processes on the shared PostgreSQL and Redis, fired at by 50 client threads.

Invariants 3 and 4 of ARCHITECTURE.md: at most one live execution issue per routine
under coalesce/skip however many fires arrive at once, and one idempotency key never
makes a second run.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from devstack.api import Api, Response, make_world
from devstack.processes import free_port, running, start_web, start_worker
from tests.e2e.conftest import fresh_stack
from tests.support.ledger import IssueRow, Ledger, RunRow, database, wait_until_decided
from tests.support.load import Outcome, fire_burst, http_api

CLIENT_THREADS = 50
FIRES = 200
SAME_KEY_FIRES = 100
RACE_ATTEMPTS = 20
#: Every decision of a burst must be made within this many seconds of the last 202.
DECIDED_WITHIN = 60.0


@dataclass(frozen=True)
class App:
    api: Api
    engine: Engine


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The `stack` fixture's fresh database and namespace on the shared PostgreSQL and
    Redis, with gunicorn and two dramatiq workers, kept for the whole module (each test
    fires at routines of a company of its own), so the processes start once."""
    with fresh_stack(tmp_path_factory.mktemp("races")) as stack:
        port = free_port()
        web = start_web(stack.env, stack.log_dir, port=port, workers=2)
        workers = [
            start_worker(stack.env, stack.log_dir, name=f"worker-{n}", threads=4) for n in (1, 2)
        ]
        with running(web, *workers), database(stack.database_url) as engine:
            yield App(http_api(port), engine)


def fire_concurrently(api: Api, routine: dict[str, Any], n: int, **body: Any) -> list[Outcome]:
    return fire_burst(api, routine["id"], n, threads=CLIENT_THREADS, **body)


def accepted_ids(outcomes: list[Outcome]) -> list[str]:
    assert Counter(o.status for o in outcomes) == {202: len(outcomes)}, [
        (o.status, o.error, o.body) for o in outcomes if o.status != 202
    ][:5]
    return [str(o.run_id) for o in outcomes]


@pytest.mark.parametrize(
    ("policy", "follower"),
    [("coalesce_if_active", "coalesced"), ("skip_if_active", "skipped")],
    ids=["coalesce_if_active", "skip_if_active"],
)
def test_two_hundred_concurrent_fires_make_one_issue_and_link_the_other_199_runs_to_it(
    app: App, policy: str, follower: str
) -> None:
    world = make_world(app.api, concurrencyPolicy=policy)
    run_ids = accepted_ids(fire_concurrently(app.api, world.routine, FIRES))
    assert len(set(run_ids)) == FIRES

    ledger = wait_until_decided(
        app.engine, [world.routine["id"]], timeout=DECIDED_WITHIN, expected=FIRES
    )

    assert len(ledger.runs) == FIRES
    assert ledger.by_status() == Counter({"issue_created": 1, follower: FIRES - 1})
    assert len(ledger.issues) == 1, "exactly one live issue however many fires raced"
    (issue,) = ledger.issues
    assert all(run.linked_issue_id == issue.id for run in ledger.runs)
    followers = [run for run in ledger.runs if run.status == follower]
    assert {run.coalesced_into_run_id for run in followers} == {issue.origin_run_id}
    ledger.assert_each_run_decided_once(run_ids)


def test_two_hundred_concurrent_fires_under_always_enqueue_make_two_hundred_issues(
    app: App,
) -> None:
    world = make_world(app.api, concurrencyPolicy="always_enqueue")
    run_ids = accepted_ids(fire_concurrently(app.api, world.routine, FIRES))

    ledger = wait_until_decided(
        app.engine, [world.routine["id"]], timeout=DECIDED_WITHIN, expected=FIRES
    )

    assert ledger.by_status() == Counter({"issue_created": FIRES})
    assert len(ledger.issues) == FIRES
    assert len({issue.identifier for issue in ledger.issues}) == FIRES, "identifiers collide"
    assert {issue.origin_run_id for issue in ledger.issues} == set(run_ids)
    ledger.assert_each_run_decided_once(run_ids)


def test_a_hundred_concurrent_fires_with_one_idempotency_key_record_a_single_run(
    app: App,
) -> None:
    world = make_world(app.api, concurrencyPolicy="always_enqueue")
    outcomes = fire_concurrently(
        app.api, world.routine, SAME_KEY_FIRES, idempotencyKey="deploy-2026-11-24"
    )
    run_ids = accepted_ids(outcomes)

    assert len(set(run_ids)) == 1, "every duplicate answers 202 with the first run"
    ledger = wait_until_decided(app.engine, [world.routine["id"]], timeout=DECIDED_WITHIN)
    assert [run.id for run in ledger.runs] == run_ids[:1]
    assert ledger.by_status() == Counter({"issue_created": 1})
    assert len(ledger.issues) == 1
    ledger.assert_each_run_decided_once(run_ids[:1])


def test_a_fire_racing_its_live_issue_moving_to_done_coalesces_or_opens_a_new_issue_never_both(
    app: App,
) -> None:
    world = make_world(app.api, concurrencyPolicy="coalesce_if_active")
    routine_id = world.routine["id"]
    rng = random.Random(20261124)
    outcomes: Counter[str] = Counter()
    for attempt in range(RACE_ATTEMPTS):
        live = ensure_live_issue(app, world.routine)
        fire_response, patch_response = race_fire_against_done(
            app.api, routine_id, live.id, delay=rng.uniform(0.0, 0.12)
        )
        assert fire_response.status == 202, fire_response.body
        assert patch_response.status == 200, patch_response.body
        run_id = fire_response.body["id"]

        ledger = wait_until_decided(app.engine, [routine_id], timeout=30)
        run = next(r for r in ledger.runs if r.id == run_id)
        outcomes[run.status] += 1
        assert_one_outcome(ledger, run, old=live, attempt=attempt)

    final = Ledger.read(app.engine, [routine_id])
    assert len(final.live()) <= 1
    assert all(run.linked_issue_id for run in final.runs), "every run links exactly one issue"
    final.assert_each_run_decided_once([r.id for r in final.runs])
    print(f"\nfire vs done, {RACE_ATTEMPTS} attempts: {dict(outcomes)}")


def race_fire_against_done(
    api: Api, routine_id: str, issue_id: str, *, delay: float
) -> tuple[Response, Response]:
    """A fire and `PATCH status=done` released together; the PATCH `delay` later, since
    the worker's dispatch follows the fire's 202 by a few milliseconds."""
    barrier = threading.Barrier(2)

    def fire() -> Response:
        barrier.wait(timeout=10)
        return api.post(f"/api/routines/{routine_id}/run", {})

    def finish() -> Response:
        barrier.wait(timeout=10)
        time.sleep(delay)
        return api.patch(f"/api/issues/{issue_id}", {"status": "done"})

    with ThreadPoolExecutor(2) as pool:
        fired, finished = pool.submit(fire), pool.submit(finish)
        return fired.result(30), finished.result(30)


def ensure_live_issue(app: App, routine: dict[str, Any]) -> IssueRow:
    """The routine's live issue, making one (fire, wait for the decision) if none."""
    ledger = Ledger.read(app.engine, [routine["id"]])
    if not ledger.live():
        response = app.api.post(f"/api/routines/{routine['id']}/run", {})
        assert response.status == 202, response.body
        ledger = wait_until_decided(app.engine, [routine["id"]], timeout=30)
    (live,) = ledger.live()
    return live


def assert_one_outcome(ledger: Ledger, run: RunRow, *, old: IssueRow, attempt: int) -> None:
    issues = {issue.id: issue for issue in ledger.issues}
    assert issues[old.id].status == "done", attempt
    made = [issue for issue in ledger.issues if issue.origin_run_id == run.id]
    if run.status == "coalesced":
        assert run.linked_issue_id == old.id, attempt
        assert run.coalesced_into_run_id == old.origin_run_id, attempt
        assert made == [], f"attempt {attempt}: coalesced AND a new issue"
        assert ledger.live() == [], attempt
    else:
        assert run.status == "issue_created", f"attempt {attempt}: {run.status}"
        assert len(made) == 1, f"attempt {attempt}: neither coalesced nor a new issue"
        assert run.linked_issue_id == made[0].id != old.id, attempt
        assert [issue.id for issue in ledger.live()] == [made[0].id], attempt
