"""Engines and sessions; nothing connects until a function here is called.

Every application connection to PostgreSQL carries time limits, so that a slow or
frozen server never holds a request or a worker thread for long: the server enforces
`statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout`, TCP
keepalives find a peer that vanished, and the client gives up a little after the
statement timeout even when the server cannot answer at all (shared/platform/db_deadline.py).
A missed deadline is an OperationalError treated as a disconnect: web answers 503,
the worker retries, and the pool connects afresh once the server is back.
"""

from __future__ import annotations

import functools
import math
import os
import select
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from shared.platform.db_deadline import (
    ClientLimits,
    DeadlineExceeded,
    LimitedConnection,
    install_wait_callback,
)
from shared.platform.settings import Settings

#: The client waits this much longer than the statement timeout before it gives up on
#: the server: the server's own cancellation, when it can send one, arrives first.
DEADLINE_GRACE_SECONDS = 1.0
#: TCP keepalives: a pooled connection whose peer vanished (host down, network cut) is
#: found dead after about idle + interval x count = 60 s instead of hours.
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def make_engine(settings: Settings, *, custom_plans: bool = True, **overrides: Any) -> Engine:
    """`custom_plans`: PostgreSQL plans each EXECUTE of a prepared statement for its own
    values (plan_cache_mode). Decisions read and write tables that can grow from nothing
    to thousands of rows within a minute, before autovacuum's ANALYZE: a plan cached while
    a table was empty kept scanning it whole (a run's read took 6 ms instead of 0.1).
    Planning each time costs little next to that; parsing is still saved."""
    url = settings.database_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **overrides)
    options: dict[str, Any] = {
        "pool_size": 10,
        "max_overflow": 20,
        "pool_timeout": 5,
        "connect_args": connect_args(settings, custom_plans=custom_plans),
    }
    options.update(overrides)
    install_wait_callback()
    engine = create_engine(url, **options)
    _ping_when_idle(engine)
    _deadline_is_a_disconnect(engine)
    return engine


def connect_args(settings: Settings, *, custom_plans: bool = True) -> dict[str, Any]:
    """psycopg2.connect() arguments: the server-side limits travel in the startup packet
    (no extra round trip), the client-side ones with the connection object."""
    server: dict[str, object] = {
        "statement_timeout": settings.db_statement_timeout_ms,
        "lock_timeout": settings.db_lock_timeout_ms,
        "idle_in_transaction_session_timeout": settings.db_idle_in_transaction_timeout_ms,
    }
    if custom_plans:
        server["plan_cache_mode"] = "force_custom_plan"
    limits = client_limits(settings)
    return {
        "options": " ".join(f"-c {name}={value}" for name, value in server.items()),
        # libpq's own (whole seconds) only applies to a blocking connect; the wait
        # callback enforces the exact one.
        "connect_timeout": math.ceil(settings.db_connect_timeout_seconds),
        **KEEPALIVES,
        "connection_factory": functools.partial(LimitedConnection, limits=limits),
    }


def client_limits(settings: Settings) -> ClientLimits:
    """The client's deadlines, from the server-side limits they back up (0 = none)."""
    statement_ms = settings.db_statement_timeout_ms
    return ClientLimits(
        connect=settings.db_connect_timeout_seconds or None,
        statement=statement_ms / 1000 + DEADLINE_GRACE_SECONDS if statement_ms else None,
    )


def _deadline_is_a_disconnect(engine: Engine) -> None:
    """The connection is closed by then: the pool must drop it, and the others made
    before it, so that the next checkout connects afresh once the server is back."""

    @event.listens_for(engine, "handle_error")
    def _classify(context: ExceptionContext) -> None:
        if isinstance(context.original_exception, DeadlineExceeded):
            context.is_disconnect = True


#: A pooled connection unused this long is pinged before use (it may have died with a
#: PostgreSQL restart); busy connections are not, which saves a round trip per request,
#: unless the server has already said something on them (see `_server_spoke`).
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None:
            return
        recent = time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS
        if recent and not _server_spoke(dbapi_conn):
            return
        try:
            with _ping_allowance(dbapi_conn):
                cursor = dbapi_conn.cursor()
                cursor.execute("SELECT 1")
                cursor.close()
        except Exception as error:
            # The pool drops this connection and retries the checkout with a new one.
            raise DisconnectionError() from error


def _ping_allowance(dbapi_conn: Any) -> AbstractContextManager[None]:
    """A ping waits no longer than a handshake would: a frozen server costs a checkout
    seconds, not the statement timeout, before the pool tries a new connection."""
    if isinstance(dbapi_conn, LimitedConnection):
        return dbapi_conn.allowing(dbapi_conn.limits.ping)
    return nullcontext()


def _server_spoke(dbapi_conn: Any) -> bool:
    """Whether an idle connection has something to read, without a round trip. Nothing
    is sent to an idle client unless its server is going away: a restart or
    pg_terminate_backend sends a FATAL notice and closes the socket, which becomes
    readable at once, so a connection used a second before the restart is caught too."""
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def ensure_sqlite_directory(url: str) -> None:
    """SQLite creates the file but not its folder."""
    path = url.split("///", 1)[-1] if url.startswith("sqlite") else ""
    if path and path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


def _sqlite_engine(url: str, **overrides: Any) -> Engine:
    ensure_sqlite_directory(url)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, **overrides
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite has no row locks: every transaction takes the write lock up front,
        # which serializes writers the way FOR UPDATE does on PostgreSQL.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def autocommit_engine(settings: Settings, engine: Engine) -> Engine:
    """A pool of its own whose connections never open a transaction, so that none
    switches mode per checkout; on SQLite, the ordinary engine (see single_statements).
    Nothing connects until it is used."""
    if engine.dialect.name == "sqlite":
        return engine
    # The webhook fire's look-up and insert find rows by key in tables that grow slowly:
    # their plans are cached.
    return make_engine(
        settings, custom_plans=False, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=10
    )


@contextmanager
def single_statements(engine: Engine) -> Iterator[Connection]:
    """A connection of an autocommit engine (autocommit_engine), on which each
    statement commits on its own, for a path whose only write is one statement (the
    webhook fire): no BEGIN and no COMMIT round trips. On SQLite, one ordinary
    transaction instead (its write lock is taken up front)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with engine.connect() as connection:
        yield connection


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with sessions() as session, session.begin():
        yield session
