"""A private stack for fault tests: the private servers of tests/support/servers.py, a
migrated database, a fresh namespace and timings short enough to finish in seconds;
and the application processes (web, a worker, a scheduler) started on top of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from devstack.api import Api, make_world
from devstack.processes import (
    Process,
    answers,
    distributed_env,
    free_port,
    metrics_url,
    run_release,
    running,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from devstack.services import new_namespace
from tests.support.ledger import database, wait_until_decided
from tests.support.load import http_api
from tests.support.servers import PostgresServer, RedisServer

#: Timings short enough for fault tests to finish in seconds. Production keeps the
#: defaults of shared/platform/settings.py: a run still `received` is swept back onto the queue
#: after 30 s, the scheduler wakes every 1 s, and dramatiq considers a silent worker
#: dead (and requeues its unacknowledged messages) after 60 s.
FAST_TIMINGS = {
    "ROUTINES_SWEEP_AFTER_SECONDS": "3",
    "ROUTINES_SCHEDULER_INTERVAL_SECONDS": "0.5",
    "ROUTINES_BROKER_HEARTBEAT_TIMEOUT_MS": "5000",
}


@dataclass
class PrivateStack:
    """The env for app processes on a private PostgreSQL and a private Redis."""

    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path
    postgres: PostgresServer
    redis: RedisServer


@contextmanager
def open_private_stack(log_dir: Path) -> Iterator[PrivateStack]:
    """Private PostgreSQL and Redis, a migrated database, a fresh namespace and the
    fast timings; everything is stopped and removed afterwards."""
    postgres = PostgresServer(log_dir)
    server = RedisServer(log_dir)
    try:
        postgres.start()
        server.start()
        database_url = postgres.create_database("routines")
        namespace = new_namespace()
        env = distributed_env(database_url, server.url, namespace, **FAST_TIMINGS)
        run_release(env)
        yield PrivateStack(env, database_url, namespace, log_dir, postgres, server)
    finally:
        server.stop()
        postgres.stop()
        postgres.remove()


@dataclass(frozen=True)
class ServicesOptions:
    """What a test module asks of its `services` (tests/e2e/conftest.py), as `SERVICES`."""

    #: Each request's client timeout, in seconds.
    client_timeout: float = 30.0
    #: The module's own environment for the processes, over the stack's.
    env: Mapping[str, str] = field(default_factory=dict)
    #: One decision first, so that every pool holds connections that a fault will break.
    warm_up: bool = False


@dataclass(frozen=True)
class Services:
    """web, a worker and a scheduler on a private stack, and an engine to read its rows."""

    api: Api
    engine: Engine
    postgres: PostgresServer
    worker: Process
    scheduler: Process


#: How long the warm-up's decision and the processes' probes may take.
WARM_UP_WITHIN = 30.0


@contextmanager
def running_services(stack: PrivateStack, options: ServicesOptions) -> Iterator[Services]:
    """web, a worker and a scheduler on `stack`, stopped afterwards."""
    env, log_dir = {**stack.env, **options.env}, stack.log_dir
    port = free_port()
    web = start_web(env, log_dir, port=port)
    worker = start_worker(env, log_dir)
    scheduler = start_scheduler(env, log_dir)
    with running(web, worker, scheduler), database(stack.database_url) as engine:
        api = http_api(port, timeout=options.client_timeout)
        if options.warm_up:
            warm_up(api, engine, worker, scheduler)
        yield Services(api, engine, stack.postgres, worker, scheduler)


def warm_up(api: Api, engine: Engine, *processes: Process) -> None:
    """One run decided, and each process's probe server answering."""
    routine_id = make_world(api).routine["id"]
    api.ok("POST", f"/api/routines/{routine_id}/run", {})
    wait_until_decided(engine, [routine_id], timeout=WARM_UP_WITHIN, expected=1)
    for process in processes:
        live = metrics_url(process) + "/health/live"
        wait_for(lambda url=live: answers(url), timeout=30, what=f"{process.name} probes")
