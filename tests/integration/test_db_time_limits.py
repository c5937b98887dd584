"""Time limits on real PostgreSQL connections: the application's engines carry the
server-side limits and TCP keepalives, a slow statement or a long lock wait fails fast
as an OperationalError, and migrations are never cut short by the statement timeout."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import Pool

from devstack.services import create_database, drop_database
from shared.platform.db import make_engine
from shared.platform.migrate import upgrade_to_head
from tests.conftest import settings_for

#: Limits short enough for the tests to wait them out.
STATEMENT_MS = 300
LOCK_MS = 200
#: How late an error may come after its limit fired, on a busy shared machine.
SLACK_SECONDS = 1.0


@pytest.fixture
def engine_with(pg_url: str) -> Iterator[Any]:
    """Build an application engine with the given settings; all disposed afterwards."""
    engines: list[Engine] = []

    def build(**overrides: object) -> Engine:
        engines.append(make_engine(settings_for(pg_url, **overrides)))
        return engines[-1]

    yield build
    for engine in engines:
        engine.dispose()


def show(engine: Engine, *names: str) -> list[str]:
    with engine.connect() as connection:
        return [str(connection.exec_driver_sql(f"SHOW {name}").scalar()) for name in names]


def wait_out(future: Future[None], seconds: float) -> BaseException | None:
    """The error the call ended with; a call still running is a failure of its own."""
    try:
        return future.exception(timeout=seconds)
    except TimeoutError:
        return TimeoutError(f"still waiting after {seconds} s")


def test_every_connection_of_an_engine_has_the_configured_server_side_limits(
    engine_with: Any,
) -> None:
    engine = engine_with(
        db_statement_timeout_ms=4_500,
        db_lock_timeout_ms=1_500,
        db_idle_in_transaction_timeout_ms=12_000,
    )
    names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    assert show(engine, *names) == ["4500ms", "1500ms", "12s"]


def test_the_default_limits_reach_the_server(engine_with: Any) -> None:
    names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    assert show(engine_with(), *names) == ["5s", "3s", "10s"]


def test_engine_connections_send_tcp_keepalives(engine_with: Any) -> None:
    raw = engine_with().raw_connection()
    try:
        sock = socket.socket(fileno=socket.dup(raw.driver_connection.fileno()))
        with sock:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 30
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
    finally:
        raw.close()


def test_a_statement_longer_than_the_statement_timeout_fails_fast_as_operational_error(
    engine_with: Any,
) -> None:
    engine = engine_with(db_statement_timeout_ms=STATEMENT_MS)
    started = time.monotonic()
    with pytest.raises(OperationalError) as raised, engine.connect() as connection:
        connection.execute(text("SELECT pg_sleep(3)"))
    elapsed = time.monotonic() - started
    assert isinstance(raised.value.orig, psycopg2.errors.QueryCanceled)
    assert STATEMENT_MS / 1000 <= elapsed < STATEMENT_MS / 1000 + SLACK_SECONDS
    assert show(engine, "statement_timeout") == [f"{STATEMENT_MS}ms"], "the engine still serves"


def test_a_lock_wait_longer_than_the_lock_timeout_fails_fast_as_operational_error(
    pg_url: str, engine_with: Any
) -> None:
    engine = engine_with(db_statement_timeout_ms=10_000, db_lock_timeout_ms=LOCK_MS)

    def count_routines() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM routines"))

    holder = create_engine(pg_url)
    with ThreadPoolExecutor(1) as pool:
        try:
            with holder.begin() as held:
                held.execute(text("LOCK TABLE routines IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                waiting = pool.submit(count_routines)
                error = wait_out(waiting, LOCK_MS / 1000 + SLACK_SECONDS)
                elapsed = time.monotonic() - started
        finally:
            holder.dispose()  # the lock goes, so a waiter without a limit ends too
    assert isinstance(error, OperationalError), error
    assert isinstance(error.orig, psycopg2.errors.LockNotAvailable)
    assert LOCK_MS / 1000 <= elapsed < LOCK_MS / 1000 + SLACK_SECONDS


def test_a_connection_outside_the_application_engines_still_waits_as_long_as_it_takes(
    pg_url: str, engine_with: Any
) -> None:
    """The wait callback is process-wide; the deadline is not."""
    engine_with(db_statement_timeout_ms=100)  # installs the callback: deadline 1.1 s
    plain = create_engine(pg_url)
    try:
        with plain.connect() as connection:
            connection.execute(text("SELECT pg_sleep(1.5)"))
    finally:
        plain.dispose()


@pytest.fixture
def database_with_a_short_default_statement_timeout() -> Iterator[str]:
    """A fresh database whose own default cuts any statement after 50 ms."""
    url = create_database("routines_migrate")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            name = connection.exec_driver_sql("SELECT current_database()").scalar()
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" SET statement_timeout = 50')
    finally:
        admin.dispose()
    yield url
    drop_database(url)


def test_migrations_run_without_a_statement_timeout_whatever_the_database_default(
    database_with_a_short_default_statement_timeout: str,
) -> None:
    seen: list[str] = []

    def record(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("SHOW statement_timeout")
        seen.append(cursor.fetchone()[0])
        cursor.close()

    event.listen(Pool, "connect", record)
    try:
        upgrade_to_head(settings_for(database_with_a_short_default_statement_timeout))
    finally:
        event.remove(Pool, "connect", record)
    assert seen, "the migration opened no connection"
    assert set(seen) == {"0"}, seen
