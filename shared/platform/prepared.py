"""Statements PostgreSQL plans once per connection, for the few run on every request.

A webhook fire's look-up joins three tables; planning that join cost PostgreSQL about
0.15 ms on every fire, three times the cost of running it (bench/results/fire.json).
`PREPARE` once per connection and `EXECUTE` afterwards skip the planning. Session-level
prepared statements need the connection to stay with one server session, which holds
for direct connections and PgBouncer's session mode (not its transaction mode).

The names a connection has prepared are kept in its pool record's `info` (cleared by the
pool when it connects afresh). The server session can still differ behind the client's
back (DISCARD ALL or DEALLOCATE by someone, a pooler handing over another session): an
EXECUTE then fails with SQLSTATE 26000, or a PREPARE with 42P05. The connection's list is
then marked unknown; its next use sends DEALLOCATE ALL and prepares from scratch. In
autocommit that happens at once and the statement is retried; inside a transaction the
failure aborted it, so `StatementsLost` (an OperationalError: "try again", as for a lost
server; the worker retries the message) is raised for the whole transaction to be retried.

On SQLite the statement runs as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Connection, CursorResult, Executable, Select, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

#: SQLSTATE 26000: the connection has no statement of that name (a new server session).
UNKNOWN_STATEMENT = "26000"
#: SQLSTATE 42P05: it has one already, which this connection did not prepare.
DUPLICATE = "42P05"
_BIND = re.compile(r"%\((\w+)\)s")
#: Where a connection's prepared names live in `Connection.info`.
_KEY = "prepared"


class StatementsLost(OperationalError):
    """The server session no longer has a statement this connection prepared, and the
    transaction it was used in is aborted: retry the transaction."""


class Prepared:
    """`statement` (a Core statement whose parameters are bind parameters) prepared as
    `name` on each PostgreSQL connection at first use and executed by name after."""

    def __init__(self, name: str, statement: Executable) -> None:
        self.name = name
        self.statement = statement
        compiled = statement.compile(dialect=postgresql.psycopg2.dialect())  # type: ignore[attr-defined,no-untyped-call]
        names = list(dict.fromkeys(_BIND.findall(compiled.string)))
        body = _BIND.sub(lambda m: f"${names.index(m.group(1)) + 1}", compiled.string)
        self.prepare_sql = f"PREPARE {name} AS {body.replace('%%', '%')}"
        #: Values fixed in the statement itself (its literals became bind parameters).
        self.constants = {n: v for n, v in compiled.params.items() if n in names and v is not None}
        arguments = ", ".join(f":{n}" for n in names)
        execute = text(f"EXECUTE {name}({arguments})").bindparams(
            *(bindparam(n, type_=compiled.binds[n].type) for n in names)
        )
        self.execute_statement: TextClause | TextualSelect = (
            execute.columns(*statement.selected_columns)  # typed results
            if isinstance(statement, Select | TextualSelect)
            else execute
        )
        #: The same EXECUTE for the driver itself (`rowcount`), with each value passed
        #: through its column type's bind processor, as SQLAlchemy would.
        self.driver_sql = f"EXECUTE {name}({', '.join(f'%({n})s' for n in names)})"
        self._types = {n: compiled.binds[n].type for n in names}
        self._processors: dict[str, Callable[[Any], Any]] | None = None

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        if connection.dialect.name != "postgresql":
            return connection.execute(self.statement, params)
        arguments = {**self.constants, **params}
        return self._run(connection, lambda: connection.execute(self.execute_statement, arguments))

    def rowcount(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """How many rows the statement wrote, for a write whose rows nobody reads: the
        EXECUTE goes to the driver as it is (exec_driver_sql, still seen by the engine's
        events), without SQLAlchemy compiling, typing or wrapping anything per call,
        about a third of an accepted fire's Python time before."""
        if connection.dialect.name != "postgresql":
            return int(connection.execute(self.statement, params).rowcount)
        return self._driver(connection, params).rowcount

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows a statement returns, as the driver gives them (no result types
        applied), by the same EXECUTE as `rowcount`."""
        if connection.dialect.name != "postgresql":
            return [tuple(row) for row in connection.execute(self.statement, params)]
        return [tuple(row) for row in self._driver(connection, params).fetchall()]

    def _driver(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        processors = self._processors_for(connection)
        arguments = {**self.constants, **params}
        for name, process in processors.items():
            arguments[name] = process(arguments[name])
        return self._run(connection, lambda: connection.exec_driver_sql(self.driver_sql, arguments))

    def _run(
        self, connection: Connection, execute: Callable[[], CursorResult[Any]]
    ) -> CursorResult[Any]:
        try:
            self._prepare(connection)
            return execute()
        except DBAPIError as error:
            if getattr(error.orig, "pgcode", None) not in (UNKNOWN_STATEMENT, DUPLICATE):
                raise
            # The server session is not the one the names were prepared on: start again
            # from none at the connection's next use.
            connection.info[_KEY] = None
            if not _autocommit(connection):
                orig = error.orig if error.orig is not None else error
                raise StatementsLost(error.statement, error.params, orig) from error
            self._prepare(connection)
            return execute()

    def _prepare(self, connection: Connection) -> None:
        ready = _prepared_on(connection)
        if self.name not in ready:
            connection.exec_driver_sql(self.prepare_sql)
            ready.add(self.name)

    def _processors_for(self, connection: Connection) -> dict[str, Callable[[Any], Any]]:
        if self._processors is None:
            dialect = connection.dialect
            found = {n: t.bind_processor(dialect) for n, t in self._types.items()}
            self._processors = {n: p for n, p in found.items() if p is not None}
        return self._processors


def _prepared_on(connection: Connection) -> set[str]:
    """The names prepared on this connection's server session: none on a new connection;
    after a surprise, none either, once whatever the session holds is deallocated (a
    statement of that name may be another's, of another text)."""
    info = connection.info
    ready: set[str] | None = info.get(_KEY)
    if ready is None:
        if _KEY in info:
            connection.exec_driver_sql("DEALLOCATE ALL")
        ready = info[_KEY] = set()
    return ready


def _autocommit(connection: Connection) -> bool:
    return bool(getattr(connection.connection.dbapi_connection, "autocommit", False))
