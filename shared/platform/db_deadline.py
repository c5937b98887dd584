"""The client's own deadline on PostgreSQL connections.

Server-side timeouts cannot fire when the server's processes are frozen (SIGSTOP, a
stalled VM or disk) while its kernel still acknowledges TCP: keepalives are answered
and nothing ever comes back. psycopg2 waits for the server through one wait callback
per process; ours, `wait_with_deadline`, polls the socket with a timeout and raises
`DeadlineExceeded` once the connection's allowance has passed. psycopg2 then closes the
connection, and SQLAlchemy reports an OperationalError.

The deadline belongs to the connection (`LimitedConnection`), not to the process: any
other psycopg2 connection keeps libpq's blocking behaviour and may wait for ever. One
thing is process-wide: with a wait callback installed psycopg2 refuses COPY on every
connection. The application uses none; bench/scheduler.py bulk-loads before it makes
an engine.
"""

from __future__ import annotations

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg2
import psycopg2.extensions as pg

#: libpq's own floor for connect_timeout, kept for connections that are not ours.
LIBPQ_MIN_CONNECT_TIMEOUT = 2


@dataclass(frozen=True)
class ClientLimits:
    """How long the client waits for the server on one exchange, in seconds (None: for
    ever). A ping is as small as a connection handshake, so it gets the same time."""

    connect: float | None
    statement: float | None

    @property
    def ping(self) -> float | None:
        return self.connect if self.connect is not None else self.statement


class LimitedConnection(pg.connection):
    """A psycopg2 connection that carries its own deadline, read by the wait callback."""

    def __init__(self, dsn: str, *args: Any, limits: ClientLimits, **kwargs: Any) -> None:
        self.limits = limits
        #: How long the exchange in progress may wait for the server (None: for ever).
        self.allowance = limits.connect
        super().__init__(dsn, *args, **kwargs)
        self.allowance = limits.statement

    @contextmanager
    def allowing(self, seconds: float | None) -> Iterator[None]:
        before, self.allowance = self.allowance, seconds
        try:
            yield
        finally:
            self.allowance = before


class DeadlineExceeded(psycopg2.OperationalError):
    """The server did not answer in time. A psycopg2 error, not a domain one, so that
    SQLAlchemy wraps it as OperationalError like any other loss of the database."""


def install_wait_callback() -> None:
    """Installing a wait callback puts every psycopg2 connection of the process in
    non-blocking ("green") mode; done when an engine is made, never at import."""
    if pg.get_wait_callback() is not wait_with_deadline:
        pg.set_wait_callback(wait_with_deadline)


_EVENTS = {pg.POLL_READ: select.POLLIN, pg.POLL_WRITE: select.POLLOUT}


def wait_with_deadline(conn: pg.connection) -> None:
    """Drive one exchange with the server (a handshake, a statement, a commit) to its
    end, or raise DeadlineExceeded once the connection's allowance has passed."""
    allowance = _allowance(conn)
    deadline = None if allowance is None else time.monotonic() + allowance
    while True:
        state = conn.poll()
        if state == pg.POLL_OK:
            return
        if not _socket_ready(conn, state, deadline):
            raise DeadlineExceeded(f"PostgreSQL did not answer within {allowance:g} s")


def _socket_ready(conn: pg.connection, state: int, deadline: float | None) -> bool:
    """poll(2) rather than select(2), which fails on descriptors above 1023."""
    events = _EVENTS.get(state)
    if events is None:
        raise psycopg2.OperationalError(f"bad state from poll: {state}")
    poller = select.poll()
    poller.register(conn.fileno(), events)
    if deadline is None:
        return bool(poller.poll())
    return bool(poller.poll(max(0.0, deadline - time.monotonic()) * 1000))


def _allowance(conn: pg.connection) -> float | None:
    """A LimitedConnection says; another one waits for ever, as libpq would, except in
    its handshake, which honours its own connect_timeout as libpq does."""
    if isinstance(conn, LimitedConnection):
        return conn.allowance
    if conn.status != pg.STATUS_SETUP:
        return None
    seconds = int(pg.parse_dsn(conn.dsn).get("connect_timeout") or 0)
    return float(max(seconds, LIBPQ_MIN_CONNECT_TIMEOUT)) if seconds > 0 else None
