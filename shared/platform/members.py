"""`column IN (ids)` in one statement shape, however many ids there are.

SQLAlchemy's IN list is an expanding parameter: every execution renders the statement
again with one placeholder per id. On PostgreSQL the ids travel instead as one array
(`column = ANY(:ids)`), so the statement's text never changes and SQLAlchemy compiles
it once per process. SQLite has no arrays and keeps the IN list; this module is the one
place that knows. A statement given a name is also PREPAREd once per PostgreSQL
connection (shared.platform.prepared), so the server parses and plans it once too.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Executable,
    Text,
    TypeDecorator,
    Uuid,
    any_,
    bindparam,
    cast,
)
from sqlalchemy.dialects.postgresql import ARRAY

from shared.platform.prepared import Prepared

E = TypeVar("E", bound=Executable)
#: Builds the condition "`column` is one of the values of parameter `name`".
Member = Callable[[ColumnElement[Any], str], ColumnElement[bool]]


def any_of(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """PostgreSQL: one array parameter; UUIDs go as text and are cast back."""
    if isinstance(column.type, Uuid):
        return column == any_(cast(bindparam(name, type_=UuidTexts()), ARRAY(column.type)))
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def in_list(column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """Elsewhere: an expanding IN list."""
    return column.in_(bindparam(name, expanding=True))


class PerDialect(Generic[E]):
    """A statement built once for PostgreSQL and once for the others, by `build(member)`;
    its parameters are the same lists on both. With `prepared`, the PostgreSQL one is
    prepared under that name on each connection and executed by name."""

    def __init__(self, build: Callable[[Member], E], *, prepared: str | None = None) -> None:
        self.postgresql = build(any_of)
        self.other = build(in_list)
        self.prepared = Prepared(prepared, self.postgresql) if prepared else None

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        if connection.dialect.name != "postgresql":
            return connection.execute(self.other, params)
        if self.prepared is not None:
            return self.prepared.execute(connection, params)
        return connection.execute(self.postgresql, params)


class UuidTexts(TypeDecorator[list[uuid.UUID | None]]):
    """A list of UUIDs bound as one text, PostgreSQL's literal of an array (`{a,b}`), cast
    back to `uuid[]` by the statement: one value for psycopg2 to quote, not one per id,
    and one that an EXECUTE can pass to a prepared `uuid[]` parameter (an array of text
    cannot be)."""

    impl = Text
    cache_ok = True

    def process_bind_param(
        self, value: list[uuid.UUID | None] | None, dialect: Dialect
    ) -> str | None:
        return None if value is None else uuid_array(value)


def uuid_array(ids: Iterable[uuid.UUID | str | None]) -> str:
    """PostgreSQL's literal of a `uuid[]` (`{a,b}`), one value for psycopg2 to quote."""
    return "{" + ",".join("NULL" if i is None else str(i) for i in ids) + "}"
