"""A dramatiq worker SIGKILLed while it holds a batch of messages, under a steady load
of fires: every run answered 202 is decided by the replacement worker, none twice.

The killed worker's messages are unacknowledged in Redis; they come back either by
dramatiq's own requeue of a dead worker's messages (heartbeat timeout, 5 s here) or
by the scheduler's sweep of runs still `received` (3 s here); both may happen, and
the actor is idempotent, so the count of issues is the proof.
"""

from __future__ import annotations

import time
from collections import Counter

import redis

from devstack.api import make_world
from devstack.processes import (
    Process,
    free_port,
    running,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from devstack.services import REDIS_URL
from tests.e2e.conftest import Stack
from tests.support.ledger import database, wait_until_decided
from tests.support.load import FireLoad, fire_burst, http_api
from tests.support.private_stack import FAST_TIMINGS

ROUTINES = 3
RATE = 20.0
#: Seconds of steady load before the kill, and after the replacement started.
BEFORE_KILL, AFTER_KILL = 3.0, 7.0
#: Fires sent at once just before the kill, so the worker has a batch in hand.
BURST = 40
DECIDED_WITHIN = 60.0


def unacked(client: redis.Redis, namespace: str) -> dict[str, int]:
    """Messages each worker has taken from the `runs` queue and not acknowledged yet."""
    return {
        key.decode(): int(client.scard(key))
        for key in client.scan_iter(f"{namespace}:__acks__.*", count=1000)
    }


def test_a_worker_killed_mid_batch_loses_no_accepted_run_and_decides_none_twice(
    stack: Stack,
) -> None:
    started = time.monotonic()
    env = {**stack.env, **FAST_TIMINGS}
    port = free_port()
    client = redis.Redis.from_url(REDIS_URL)
    web = start_web(env, stack.log_dir, port=port)
    scheduler = start_scheduler(env, stack.log_dir)
    doomed = start_worker(env, stack.log_dir, name="worker-doomed", threads=2)
    replacements: list[Process] = []
    with running(web, scheduler, doomed), database(stack.database_url) as engine:
        try:
            api = http_api(port, timeout=10)
            routine_ids = [
                make_world(api, concurrencyPolicy="always_enqueue").routine["id"]
                for _ in range(ROUTINES)
            ]
            targets = [
                (lambda rid=rid: api.post(f"/api/routines/{rid}/run", {})) for rid in routine_ids
            ]
            with FireLoad(targets, rate=RATE) as load:
                time.sleep(BEFORE_KILL)
                burst = fire_burst(api, routine_ids[0], BURST, threads=BURST)
                wait_for(
                    lambda: sum(unacked(client, stack.namespace).values()) > 0,
                    timeout=10,
                    what="the worker to hold unacknowledged messages",
                )
                in_hand = sum(unacked(client, stack.namespace).values())
                doomed.kill()  # SIGKILL to dramatiq's whole process group
                replacements.append(
                    start_worker(env, stack.log_dir, name="worker-replacement", threads=2)
                )
                time.sleep(AFTER_KILL)
            outcomes = [*load.outcomes, *burst]

            assert Counter(o.status for o in outcomes) == {202: len(outcomes)}, [
                (o.status, o.error) for o in outcomes if o.status != 202
            ][:5]
            accepted = [str(o.run_id) for o in outcomes]
            ledger = wait_until_decided(
                engine, routine_ids, timeout=DECIDED_WITHIN, expected=len(accepted)
            )
        finally:
            for worker in replacements:
                worker.stop()

    assert in_hand > 0
    assert sorted(run.id for run in ledger.runs) == sorted(accepted)
    assert ledger.by_status() == Counter({"issue_created": len(accepted)})
    assert len(ledger.issues) == len(accepted), "one issue per accepted run, none twice"
    assert len({issue.origin_run_id for issue in ledger.issues}) == len(ledger.issues)
    ledger.assert_each_run_decided_once(accepted)
    elapsed = time.monotonic() - started
    assert elapsed < 120
    print(
        f"\nworker killed: {len(accepted)} accepted, {in_hand} unacked in the killed worker, "
        f"{len(ledger.issues)} issues, {elapsed:.1f} s"
    )
