"""`column IN (ids)` in one statement shape, however many ids there are.

SQLAlchemy's IN list is an expanding parameter: every execution renders the statement
again with one placeholder per id. On PostgreSQL the ids travel instead as one array
(`column = ANY(:ids)`), so the statement's text never changes and SQLAlchemy compiles
it once per process. SQLite has no arrays and keeps the IN list; this module is the one
place that knows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, CursorResult, Executable, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY

E = TypeVar("E", bound=Executable)
#: Builds the condition "`column` is one of the values of parameter `name`".
Member = Callable[[ColumnElement[Any], str], ColumnElement[bool]]


def any_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """PostgreSQL: one array parameter."""
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def in_list(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """Elsewhere: an expanding IN list."""
    return column.in_(bindparam(name, expanding=True))


class PerDialect(Generic[E]):
    """A statement built once for PostgreSQL and once for the others, by `build(member)`;
    its parameters are the same lists on both."""

    def __init__(self, build: Callable[[Member], E]) -> None:
        self.postgresql = build(any_of)
        self.other = build(in_list)

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        postgresql = connection.dialect.name == "postgresql"
        return connection.execute(self.postgresql if postgresql else self.other, params)
