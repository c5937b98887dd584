"""Fixtures named for what they give: a database, a runtime, an api, a worker, a clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from devstack.api import ADMIN_TOKEN, Api, FlaskTransport
from devstack.services import create_database, drop_database, truncate_all
from shared.platform.broker import DISPATCH_QUEUE, build_broker
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from tests.support.clock import FixedClock
from web.app import create_app
from workers.actors import register

SECRET_KEY = "test-secret-key"
#: Where `clock` starts in a test module that sets no `CLOCK_START` of its own.
CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def settings_for(database_url: str, **overrides: object) -> Settings:
    base = Settings(
        database_url=database_url,
        redis_url=None,
        admin_token=ADMIN_TOKEN,
        secret_key=SECRET_KEY,
    )
    return base.with_overrides(**overrides)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database at head for this test session."""
    url = create_database()
    upgrade_to_head(settings_for(url))
    yield url
    drop_database(url)


@pytest.fixture
def runtime(pg_url: str) -> Iterator[Runtime]:
    """PostgreSQL (emptied) and an in-process broker with the real actors registered."""
    settings = settings_for(pg_url)
    built = build_runtime(settings, broker=build_broker(settings))
    assert isinstance(built.broker, StubBroker)
    truncate_all(built.engine)
    register(built)
    yield built
    built.close()


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return Api(FlaskTransport(create_app(runtime=runtime).test_client()))


@pytest.fixture
def drain(runtime: Runtime) -> Callable[[], None]:
    """Run a real dramatiq worker over the in-process broker until its queue is empty;
    nothing is decided between calls, so a test controls what happens first."""

    def run_until_empty() -> None:
        worker = dramatiq.Worker(runtime.broker, worker_threads=2, worker_timeout=50)
        worker.start()
        try:
            runtime.broker.join(DISPATCH_QUEUE, fail_fast=True)
            worker.join()
        finally:
            worker.stop()

    return run_until_empty


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> FixedClock:
    """A clock that only moves when told to, at the test module's `CLOCK_START` (a
    module-level datetime; 09:00 UTC on Monday 23 November 2026 when it sets none)."""
    return FixedClock(getattr(request.module, "CLOCK_START", CLOCK_START))


@pytest.fixture
def timed(runtime: Runtime, clock: FixedClock) -> Runtime:
    """The runtime on `clock`."""
    return replace(runtime, clock=clock)


@pytest.fixture
def sched_api(timed: Runtime) -> Api:
    """The API over the runtime on `clock`, so that every timestamp it writes is a literal."""
    return Api(FlaskTransport(create_app(runtime=timed).test_client()))
