"""The Redis broker path, and the sweep that rescues runs whose message was lost."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker

from devstack.api import Api, FlaskTransport, fire, make_world
from devstack.services import (
    REDIS_URL,
    delete_namespace,
    new_namespace,
    redis_client,
    truncate_all,
)
from scheduler import loop
from scheduler.loop import Scheduler
from shared.models import RoutineRun
from shared.platform.broker import DISPATCH_QUEUE, build_broker
from shared.platform.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from tests.support.clock import FixedClock
from web.app import create_app
from workers.actors import register


@pytest.fixture
def redis_runtime(pg_url: str) -> Iterator[Runtime]:
    redis_client()
    namespace = new_namespace()
    settings = settings_for(pg_url, redis_url=REDIS_URL, broker_namespace=namespace)
    built = build_runtime(settings, broker=build_broker(settings))
    assert isinstance(built.broker, RedisBroker)
    truncate_all(built.engine)
    register(built)
    yield built
    built.broker.close()
    built.close()
    delete_namespace(namespace)


def wait_decided(runtime: Runtime, run_id: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with runtime.sessions() as session:
            run = session.get(RoutineRun, uuid.UUID(run_id))
            if run is not None and run.status != "received":
                return run.status
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still received after {timeout}s")


def test_a_run_enqueued_on_redis_is_decided_by_a_worker(redis_runtime: Runtime) -> None:
    api = Api(FlaskTransport(create_app(runtime=redis_runtime).test_client()))
    world = make_world(api)
    worker = dramatiq.Worker(redis_runtime.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        run = fire(api, world.routine)
        assert wait_decided(redis_runtime, run["id"]) == "issue_created"
    finally:
        worker.stop()


def test_a_run_whose_message_was_lost_is_swept_back_onto_the_queue(
    redis_runtime: Runtime,
) -> None:
    api = Api(FlaskTransport(create_app(runtime=redis_runtime).test_client()))
    world = make_world(api)
    run = fire(api, world.routine)
    redis_runtime.broker.flush(DISPATCH_QUEUE)  # the message is gone; the run is not
    clock = FixedClock(redis_runtime.clock.now())
    sweeper = Scheduler(_with_clock(redis_runtime, clock))
    assert sweeper.sweep() == 0, "a fresh run is left to its own message"
    clock.advance(seconds=redis_runtime.settings.sweep_after_seconds + 1)
    assert sweeper.sweep() == 1
    assert sweeper.sweep() == 0, "not re-enqueued again while its new message waits"
    worker = dramatiq.Worker(redis_runtime.broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        assert wait_decided(redis_runtime, run["id"]) == "issue_created"
    finally:
        worker.stop()


def test_enqueue_failure_keeps_the_202_and_the_run(pg_url: str) -> None:
    settings = settings_for(
        pg_url, redis_url="redis://127.0.0.1:1/0", broker_namespace=new_namespace()
    )
    runtime = build_runtime(settings, broker=build_broker(settings))
    truncate_all(runtime.engine)
    api = Api(FlaskTransport(create_app(runtime=runtime).test_client()))
    world = make_world(api)
    response = api.post(f"/api/routines/{world.routine['id']}/run", {})
    assert response.status == 202
    with runtime.sessions() as session:
        stored = session.get(RoutineRun, uuid.UUID(response.body["id"]))
        assert stored is not None
        assert stored.status == "received"
    runtime.close()


def _with_clock(runtime: Runtime, clock: FixedClock) -> Runtime:
    return replace(runtime, clock=clock)


def test_runs_stuck_at_the_front_never_hide_newer_lost_runs_from_the_sweep(
    redis_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop, "SWEEP_BATCH", 3)
    api = Api(FlaskTransport(create_app(runtime=redis_runtime).test_client()))
    world = make_world(api)
    lost = {fire(api, world.routine)["id"] for _ in range(7)}
    redis_runtime.broker.flush(DISPATCH_QUEUE)  # every message is gone; no worker runs
    clock = FixedClock(redis_runtime.clock.now())
    clock.advance(seconds=redis_runtime.settings.sweep_after_seconds + 1)
    sweeper = Scheduler(_with_clock(redis_runtime, clock))
    swept = [sweeper.sweep() for _ in range(4)]
    assert sum(swept) == 7, f"each page read in turn, not the oldest three again: {swept}"
    bodies = f"{redis_runtime.settings.broker_namespace}:{DISPATCH_QUEUE}.msgs"
    messages = [dramatiq.Message.decode(raw) for raw in redis_client().hvals(bodies)]
    # The sweep sends a page's runs as one dispatch_runs message (a list of run ids).
    queued = {run_id for m in messages for run_id in m.args[0]}
    assert queued == lost
