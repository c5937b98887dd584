"""Redis (the broker) away during a load of fires, on a PRIVATE Redis so that the
machine's shared one is never touched: the API keeps answering, 202 with the run
recorded in PostgreSQL or 503 when it cannot record (a timestamped HMAC webhook
needs Redis for its replay memory), never a 500 and never a hang over 5 s; once
Redis is back the scheduler's sweep has every recorded run decided (invariant 1).

The private Redis keeps nothing on disk, so a stop also loses every message that was
queued: only the sweep can recover those runs.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from devstack.api import Api, Response, make_world
from devstack.processes import wait_for
from tests.support.ledger import wait_until_decided
from tests.support.load import FireLoad, Outcome, hmac_headers, timed_call
from tests.support.private_stack import PrivateStack, Services, ServicesOptions

#: The longest any answer may take, and the client timeout of every request.
ANSWER_WITHIN = 5.0
RATE = 12.0
UP_BEFORE, DOWN_FOR, UP_AFTER = 2.0, 4.0, 2.0
#: A partition lasts longer than the 5 s bound, so a request that waits it out fails.
FROZEN_FOR = 7.0
#: After Redis is back, every run answered 202 is decided within this many seconds
#: (sweep after 3 s, scheduler tick 0.5 s, plus the lease to take again).
DECIDED_WITHIN = 30.0
SERVICES = ServicesOptions(client_timeout=ANSWER_WITHIN)


@dataclass(frozen=True)
class Fleet:
    api: Api
    engine: Engine
    routine_id: str
    targets: list[Callable[[], Response]]


@pytest.fixture
def fleet(services: Services) -> Iterator[Fleet]:
    """One always_enqueue routine of its own, fired three ways: manual run, bearer
    webhook, timestamped HMAC webhook."""
    routine = make_world(services.api, concurrencyPolicy="always_enqueue").routine
    targets = fire_targets(services.api, routine["id"])
    yield Fleet(services.api, services.engine, routine["id"], targets)
    assert services.worker.alive(), "the worker must survive the outage without a restart"
    assert services.scheduler.alive(), "the scheduler must survive the outage without a restart"


def fire_targets(api: Api, routine_id: str) -> list[Callable[[], Response]]:
    def webhook(mode: str) -> tuple[str, str]:
        created = api.ok(
            "POST", f"/api/routines/{routine_id}/triggers", {"kind": "webhook", "signingMode": mode}
        )
        return created["trigger"]["publicId"], created["secretMaterial"]["webhookSecret"]

    (bearer_id, bearer_secret), (hmac_id, hmac_secret) = webhook("bearer"), webhook("hmac_sha256")
    public = api.as_(None)
    sent = iter(range(1_000_000))

    def manual() -> Response:
        return api.post(f"/api/routines/{routine_id}/run", {})

    def bearer() -> Response:
        return public.call(
            "POST",
            f"/api/routine-triggers/public/{bearer_id}/fire",
            {"n": next(sent)},
            Authorization=f"Bearer {bearer_secret}",
        )

    def hmac_signed() -> Response:
        body = json.dumps({"n": next(sent)}).encode()
        path = f"/api/routine-triggers/public/{hmac_id}/fire"
        return public.call("POST", path, body, **hmac_headers(hmac_secret, body))

    return [manual, bearer, hmac_signed]


def assert_answers_in_time(outcomes: list[Outcome]) -> None:
    failures = [o for o in outcomes if o.status not in (202, 503)]
    assert not failures, [(o.status, o.error, o.body) for o in failures][:5]
    slowest = max(o.seconds for o in outcomes)
    assert slowest < ANSWER_WITHIN, f"an answer took {slowest:.2f} s"
    refused = [o for o in outcomes if o.status == 503]
    assert all(isinstance(o.body, dict) and o.body.get("error") for o in refused)


def test_while_redis_is_stopped_fires_answer_202_or_503_and_every_202_is_decided_after(
    private_stack: PrivateStack, fleet: Fleet
) -> None:
    with FireLoad(fleet.targets, rate=RATE) as load:
        time.sleep(UP_BEFORE)
        down_from = time.monotonic()
        private_stack.redis.stop()
        time.sleep(DOWN_FOR / 2)
        health = timed_call(lambda: fleet.api.get("/api/health"))
        time.sleep(DOWN_FOR / 2)
        private_stack.redis.start()
        down_until = time.monotonic()
        time.sleep(UP_AFTER)
    outcomes = load.outcomes

    assert_answers_in_time(outcomes)
    during = [o for o in outcomes if down_from < o.at < down_until]
    assert Counter(o.status for o in during)[202] > 0, "runs are still recorded without Redis"
    assert health.status == 503, health.body
    assert health.body["failed"] == ["broker"], "health names the failed dependency"
    accepted = [str(o.run_id) for o in outcomes if o.status == 202]
    ledger = wait_until_decided(
        fleet.engine, [fleet.routine_id], timeout=DECIDED_WITHIN, expected=len(accepted)
    )
    assert sorted(run.id for run in ledger.runs) == sorted(accepted), "nothing but the 202s"
    assert ledger.by_status() == Counter({"issue_created": len(accepted)})
    ledger.assert_each_run_decided_once(accepted)
    wait_for(lambda: fleet.api.get("/api/health").status == 200, timeout=10, what="health")
    print(
        f"\nredis stopped: {len(outcomes)} fires, {dict(Counter(o.status for o in outcomes))}, "
        f"during the outage {dict(Counter(o.status for o in during))}, "
        f"slowest {max(o.seconds for o in outcomes):.2f} s, {len(ledger.issues)} issues"
    )


def test_while_redis_is_frozen_fires_still_answer_within_five_seconds(
    private_stack: PrivateStack, fleet: Fleet
) -> None:
    """SIGSTOP: connections are accepted but nothing answers (a network partition)."""
    with FireLoad(fleet.targets, rate=RATE) as load:
        time.sleep(UP_BEFORE)
        private_stack.redis.freeze()
        try:
            time.sleep(FROZEN_FOR)
        finally:
            private_stack.redis.thaw()
        time.sleep(UP_AFTER)
    outcomes = load.outcomes

    accepted = [str(o.run_id) for o in outcomes if o.status == 202]
    ledger = wait_until_decided(
        fleet.engine, [fleet.routine_id], timeout=DECIDED_WITHIN + 30, expected=len(accepted)
    )
    ledger.assert_each_run_decided_once(accepted)
    print(
        f"\nredis frozen: {len(outcomes)} fires, {dict(Counter(o.status for o in outcomes))}, "
        f"slowest {max(o.seconds for o in outcomes):.2f} s"
    )
    assert_answers_in_time(outcomes)
