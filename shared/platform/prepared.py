"""Statements PostgreSQL plans once per connection, for the few run on every request.

A webhook fire's look-up joins three tables; planning that join cost PostgreSQL about
0.15 ms on every fire, three times the cost of running it (bench/results/fire.json).
`PREPARE` once per connection and `EXECUTE` afterwards skip the planning. Session-level
prepared statements need the connection to stay with one server session, which holds
for direct connections and PgBouncer's session mode (not its transaction mode).

On SQLite the statement runs as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, CursorResult, Executable, Select, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.sql.selectable import TextualSelect

#: SQLSTATE 26000: the connection has no statement of that name (a new server session).
UNKNOWN_STATEMENT = "26000"
_BIND = re.compile(r"%\((\w+)\)s")


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
            if isinstance(statement, Select)
            else execute
        )

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        if connection.dialect.name != "postgresql":
            return connection.execute(self.statement, params)
        ready: set[str] = connection.info.setdefault("prepared", set())
        if self.name not in ready:
            connection.exec_driver_sql(self.prepare_sql)
            ready.add(self.name)
        arguments = {**self.constants, **params}
        try:
            return connection.execute(self.execute_statement, arguments)
        except DBAPIError as error:
            new_session = getattr(error.orig, "pgcode", None) == UNKNOWN_STATEMENT
            if not (new_session and _autocommit(connection)):
                raise  # inside a transaction, the failed EXECUTE aborted it: no retry
            connection.exec_driver_sql(self.prepare_sql)
            return connection.execute(self.execute_statement, arguments)


def _autocommit(connection: Connection) -> bool:
    return bool(getattr(connection.connection.dbapi_connection, "autocommit", False))
