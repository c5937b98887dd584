"""`column IN (ids)` in one statement shape, however many ids there are.

SQLAlchemy's IN list is an expanding parameter: every execution renders the statement
again with one placeholder per id. On PostgreSQL the ids travel instead as one array
(`column = ANY(:ids)`), so the statement's text never changes and SQLAlchemy compiles
it once per process. SQLite has no arrays and keeps the IN list; this module is the one
place that knows.
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
    its parameters are the same lists on both."""

    def __init__(self, build: Callable[[Member], E]) -> None:
        self.postgresql = build(any_of)
        self.other = build(in_list)

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult[Any]:
        postgresql = connection.dialect.name == "postgresql"
        return connection.execute(self.postgresql if postgresql else self.other, params)


class UuidTexts(TypeDecorator[list[uuid.UUID | None]]):
    """A list of UUIDs bound as an array of text (see `texts`)."""

    impl = ARRAY(Text)
    cache_ok = True

    def process_bind_param(
        self, value: list[uuid.UUID | None] | None, dialect: Dialect
    ) -> list[str | None] | None:
        return None if value is None else texts(value)


def texts(ids: Iterable[uuid.UUID | None]) -> list[str | None]:
    """UUIDs as text, for a statement that casts them back: psycopg2 quotes text in C but
    each UUID through an adapter written in Python."""
    return [None if value is None else str(value) for value in ids]
