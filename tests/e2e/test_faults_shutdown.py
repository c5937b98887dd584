"""Graceful shutdown (SIGTERM, what Kubernetes sends before it deletes a pod) of each
process type, on the shared PostgreSQL and Redis: in-flight requests and messages
finish or go back to the queue, and nothing is half-written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy.engine import Engine

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
from shared.platform.broker import DISPATCH_QUEUE
from tests.e2e.conftest import Stack
from tests.support.ledger import Ledger, database, wait_until_decided
from tests.support.load import fire_burst, http_api, timed_call
from tests.support.private_stack import FAST_TIMINGS
from tests.support.servers import descendants

#: web/gunicorn_conf.py: a stopping worker is killed after this many seconds.
GRACEFUL_TIMEOUT_SECONDS = 20
#: A request this slow must finish well inside the graceful timeout.
SLOW_REQUEST_SECONDS = 3
#: Runs fired before the worker starts: more than it can decide between being seen busy
#: and finishing its shutdown (about 200 at today's decision speed).
BURST = 600
#: Runs a stopped worker gave back are decided by the next worker within this long.
WORKER_RECOVERY_WITHIN = 30.0


def terminate(process: Process, *, timeout: float) -> tuple[int, float]:
    """SIGTERM to the process group; its exit code and how long it took to exit."""
    started = time.monotonic()
    process.signal(signal.SIGTERM)
    return wait_exit(process, timeout=timeout, started=started)


def wait_exit(process: Process, *, timeout: float, started: float) -> tuple[int, float]:
    try:
        code = process.popen.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{process.name} ignored SIGTERM for {timeout} s") from None
    return code, time.monotonic() - started


def sigterm_main_process(process: Process) -> None:
    """As Kubernetes and docker stop a container: SIGTERM to its main process only;
    dramatiq's main process forwards one SIGTERM to each of its children."""
    os.kill(process.pid, signal.SIGTERM)


def sigterm_every_process(process: Process) -> None:
    """As honcho (the Procfile), systemd and `kill -TERM -PGID` stop a service: every
    process of the group gets a SIGTERM of its own, so each dramatiq child gets two
    (its own and the one its main process forwards). Whether the kernel merges them
    is a matter of microseconds; here they are 50 ms apart, so they never merge."""
    children = descendants(process.pid)
    os.kill(process.pid, signal.SIGTERM)
    time.sleep(0.05)
    for pid in children:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def test_sigterm_to_web_lets_an_in_flight_request_finish_with_its_202_before_exiting(
    stack: Stack,
) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    with running(web), database(stack.database_url) as engine:
        api = http_api(port, timeout=30)
        world = make_world(api)
        routine_id = world.routine["id"]
        answered_at: list[float] = []

        def slow_fire() -> object:
            # No worker runs, so `Prefer: wait=3` holds the request for the whole 3 s.
            outcome = timed_call(
                lambda: api.post(
                    f"/api/routines/{routine_id}/run", {}, Prefer=f"wait={SLOW_REQUEST_SECONDS}"
                )
            )
            answered_at.append(time.monotonic())
            return outcome

        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(slow_fire)
            wait_for(
                lambda: len(Ledger.read(engine, [routine_id]).runs) == 1,
                timeout=10,
                what="the slow request to be in flight",
            )
            code, took = terminate(web, timeout=30)
            exited_at = time.monotonic()
            outcome = pending.result(timeout=30)

        assert outcome.status == 202, outcome
        assert outcome.body["status"] == "received"
        assert outcome.seconds >= SLOW_REQUEST_SECONDS - 0.5, "the request ran to its end"
        assert answered_at[0] <= exited_at, "the answer came before the web exited"
        assert code == 0
        assert took < GRACEFUL_TIMEOUT_SECONDS, "exited by itself, not killed by gunicorn"
        ledger = Ledger.read(engine, [routine_id])
        assert [run.id for run in ledger.runs] == [outcome.run_id], "recorded once, whole"
        assert ledger.undecided() == [outcome.run_id], "left for a worker, as any 202"
    print(
        f"\nweb SIGTERM: slow request answered 202 after {outcome.seconds:.2f} s, exit {took:.2f} s"
    )


@dataclass(frozen=True)
class WorkerShutdown:
    code: int
    seconds: float
    #: Runs still `received` once the worker exited.
    undecided: int
    #: Messages on the queue for the next worker.
    queued: int
    #: Messages the stopped worker took and neither acknowledged nor gave back.
    abandoned: int
    routine_id: str
    accepted: list[str]


def stop_a_busy_worker(
    stack: Stack, engine: Engine, stop: Callable[[Process], None]
) -> WorkerShutdown:
    """A worker deciding a backlog of BURST runs is stopped by `stop` (no scheduler
    runs, so nothing but the worker itself can give its messages back)."""
    client = redis.Redis.from_url(REDIS_URL)
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    with running(web):
        api = http_api(port, timeout=30)
        routine_id = make_world(api, concurrencyPolicy="always_enqueue").routine["id"]
        outcomes = fire_burst(api, routine_id, BURST, threads=50)
        assert Counter(o.status for o in outcomes) == {202: BURST}
    # The worker starts on a full backlog: one started before the burst decides runs
    # about as fast as they are fired, and is idle again by the time it is signalled.
    worker = start_worker(stack.env, stack.log_dir, name="worker-stopped", threads=2)
    with running(worker):
        wait_for(
            lambda: len(Ledger.read(engine, [routine_id]).undecided()) < BURST - 2,
            timeout=30,
            what="the worker to be busy with the backlog",
        )
        started = time.monotonic()
        stop(worker)
        code, took = wait_exit(worker, timeout=30, started=started)
    undecided = len(Ledger.read(engine, [routine_id]).undecided())
    queued = int(client.llen(f"{stack.namespace}:{DISPATCH_QUEUE}"))
    abandoned = sum(
        int(client.scard(key)) for key in client.scan_iter(f"{stack.namespace}:__acks__.*")
    )
    print(
        f"\nworker {stop.__name__}: exit {code} after {took:.2f} s, {undecided} of {BURST} "
        f"undecided, {queued} back on the queue, {abandoned} abandoned unacknowledged"
    )
    accepted = [str(o.run_id) for o in outcomes]
    return WorkerShutdown(code, took, undecided, queued, abandoned, routine_id, accepted)


def decide_the_rest(stack: Stack, engine: Engine, stopped: WorkerShutdown) -> Ledger:
    """A new worker (and still no scheduler) decides what the stopped one gave back."""
    worker = start_worker(stack.env, stack.log_dir, name="worker-next", threads=2)
    with running(worker):
        return wait_until_decided(
            engine, [stopped.routine_id], timeout=WORKER_RECOVERY_WITHIN, expected=BURST
        )


@pytest.mark.parametrize(
    "stop",
    [
        sigterm_main_process,
        sigterm_every_process,
    ],
)
def test_sigterm_to_a_busy_worker_gives_its_messages_back_to_the_queue_and_exits_with_0(
    stack: Stack, stop: Callable[[Process], None]
) -> None:
    with database(stack.database_url) as engine:
        stopped = stop_a_busy_worker(stack, engine, stop)

        assert stopped.undecided > 0, "the backlog was drained before the signal"
        assert stopped.abandoned == 0, "no message is left with the stopped worker"
        assert stopped.queued == stopped.undecided, "every undecided run is back on the queue"
        assert stopped.code == 0
        assert stopped.seconds < 15

        ledger = decide_the_rest(stack, engine, stopped)
    assert ledger.by_status() == Counter({"issue_created": BURST})
    assert len(ledger.issues) == BURST
    ledger.assert_each_run_decided_once(stopped.accepted)


def test_sigterm_to_the_scheduler_exits_at_once_with_code_0_and_releases_its_lease(
    stack: Stack,
) -> None:
    env = {**stack.env, **FAST_TIMINGS}
    client = redis.Redis.from_url(REDIS_URL)
    lease = f"{stack.namespace}:scheduler-leader"
    scheduler = start_scheduler(env, stack.log_dir)
    with running(scheduler):
        wait_for(lambda: client.exists(lease) == 1, timeout=30, what="the scheduler lease")
        code, took = terminate(scheduler, timeout=15)
        held_after = client.exists(lease)

    assert code == 0, scheduler.output()[-2000:]
    assert took < 3
    assert held_after == 0, "a standby may take over at once, not after the lease expires"
    print(f"\nscheduler SIGTERM: exit {code} after {took:.2f} s, lease released")
