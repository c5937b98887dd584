"""The client's own deadline, on a PRIVATE PostgreSQL that the tests freeze (SIGSTOP):
its kernel still accepts and acknowledges TCP but nothing answers, so no server-side
timeout and no keepalive can fire. A statement, a pooled connection's ping and a new
connection each give up within their limit, and the pool serves again once it thaws."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

import shared.platform.db
from shared.platform.db import DEADLINE_GRACE_SECONDS, make_engine
from tests.conftest import settings_for
from tests.support.servers import PostgresServer

STATEMENT_MS = 500
CONNECT_SECONDS = 1.0
#: How late an error may come after its deadline, on a busy shared machine.
SLACK_SECONDS = 1.0


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("frozen-postgres"))
    try:
        server.start()
        yield server
    finally:
        server.thaw()
        server.stop()
        server.remove()


@pytest.fixture
def engine(postgres: PostgresServer) -> Iterator[Engine]:
    settings = settings_for(
        postgres.url("postgres"),
        db_statement_timeout_ms=STATEMENT_MS,
        db_connect_timeout_seconds=CONNECT_SECONDS,
    )
    built = make_engine(settings)
    yield built
    built.dispose()


def while_frozen(
    postgres: PostgresServer, call: Callable[[], Any], *, bound: float
) -> tuple[BaseException | None, float]:
    """Freeze the server, run `call` in a thread and thaw once it ended or `bound` passed
    (so that a call without a deadline ends too); its error and its duration."""
    with ThreadPoolExecutor(1) as pool:
        postgres.freeze()
        try:
            started = time.monotonic()
            future: Future[Any] = pool.submit(call)
            try:
                error = future.exception(timeout=bound)
            except TimeoutError:
                error = TimeoutError(f"no answer after {bound} s")
            elapsed = time.monotonic() - started
        finally:
            postgres.thaw()
    print(f"\nfrozen: {type(error).__name__} after {elapsed:.3f} s")
    return error, elapsed


def select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT 1")).scalar_one())


def test_a_statement_on_a_frozen_server_fails_after_its_deadline_and_the_pool_recovers(
    postgres: PostgresServer, engine: Engine
) -> None:
    deadline = STATEMENT_MS / 1000 + DEADLINE_GRACE_SECONDS
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        error, elapsed = while_frozen(
            postgres,
            lambda: connection.execute(text("SELECT 1")),
            bound=deadline + SLACK_SECONDS,
        )
    assert isinstance(error, OperationalError), error
    assert error.connection_invalidated, "the pool must drop the connection"
    assert deadline <= elapsed < deadline + SLACK_SECONDS
    assert select_one(engine) == 1, "a fresh connection once the server thawed"


def test_a_checkout_against_a_frozen_server_fails_within_the_connect_timeout(
    postgres: PostgresServer, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pooled connection's ping, then the new connection the pool tries instead,
    each wait the connect timeout, not the (here much longer) statement deadline."""
    monkeypatch.setattr(shared.platform.db, "PING_AFTER_IDLE_SECONDS", 0.0)
    slow = make_engine(
        settings_for(
            postgres.url("postgres"),
            db_statement_timeout_ms=30_000,
            db_connect_timeout_seconds=CONNECT_SECONDS,
        )
    )
    try:
        select_one(slow)  # one idle connection in the pool, pinged at its next checkout
        bound = 2 * CONNECT_SECONDS + SLACK_SECONDS
        error, elapsed = while_frozen(postgres, lambda: select_one(slow), bound=bound)
        assert isinstance(error, OperationalError), error
        assert elapsed < bound
        assert select_one(slow) == 1
    finally:
        slow.dispose()


def test_a_new_connection_to_a_frozen_server_gives_up_after_the_connect_timeout(
    postgres: PostgresServer, engine: Engine
) -> None:
    bound = CONNECT_SECONDS + SLACK_SECONDS
    error, elapsed = while_frozen(postgres, lambda: select_one(engine), bound=bound)
    assert isinstance(error, OperationalError), error
    assert CONNECT_SECONDS <= elapsed < bound
    assert select_one(engine) == 1
