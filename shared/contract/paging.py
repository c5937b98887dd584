"""Keyset (seek) pagination shared by every list endpoint.

A page is the rows after the last one of the previous page in the list's own order,
with `id` last so that rows sharing a timestamp are neither skipped nor repeated. The
cursor is that last row's sort key as URL-safe base64 of a small JSON object: opaque to
clients, checked strictly here (anything malformed is `Invalid`, a 400), and only ever
a position: the caller's filters (the company above all) still decide what is visible.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

from shared.contract.errors import Invalid
from shared.contract.jsontext import storable_text

T = TypeVar("T")
U = TypeVar("U")

INVALID_CURSOR = "Invalid cursor"
#: Longest cursor accepted, in characters; a routine's 200-character title fits easily.
MAX_CURSOR_LENGTH = 2048
#: Integer keys are 32-bit columns: a larger number is no position in any list.
INT_RANGE = range(-(2**31), 2**31)
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Key:
    """One column of a list's order."""

    column: InstrumentedAttribute[Any]
    descending: bool = False

    @property
    def name(self) -> str:
        return self.column.key


def asc(column: InstrumentedAttribute[Any]) -> Key:
    return Key(column)


def desc(column: InstrumentedAttribute[Any]) -> Key:
    return Key(column, descending=True)


@dataclass(frozen=True)
class PageRequest:
    """How many rows, after which position; `cursor` is the client's opaque string."""

    limit: int
    cursor: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list; `next_cursor` is None on the last page."""

    items: list[T]
    next_cursor: str | None = None

    def with_items(self, items: list[U]) -> Page[U]:
        """The same position with the rows turned into what the caller returns."""
        return Page(items, self.next_cursor)


@dataclass(frozen=True)
class Order:
    """A list's order, ending with a unique column, and the pages it makes."""

    keys: tuple[Key, ...]

    def fetch(self, session: Session, query: Select[T], page: PageRequest) -> Page[T]:
        """One page of `query`: one row more than asked tells whether another follows."""
        if page.cursor is not None:
            query = query.where(self.after(self.decode(page.cursor)))
        ordering = [k.column.desc() if k.descending else k.column.asc() for k in self.keys]
        rows = list(session.scalars(query.order_by(*ordering).limit(page.limit + 1)))
        if len(rows) <= page.limit:
            return Page(rows)
        return Page(rows[: page.limit], self.encode(rows[page.limit - 1]))

    def after(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `values`, spelled out as ORs so that mixed directions work
        on SQLite too; the bound on the first column lets an index start the scan there."""
        pairs = list(zip(self.keys, values, strict=True))
        branches = [
            and_(*(k.column == v for k, v in pairs[:i]), _beyond(*pairs[i]))
            for i in range(len(pairs))
        ]
        first, value = pairs[0]
        bound = first.column <= value if first.descending else first.column >= value
        return and_(bound, or_(*branches))

    def encode(self, row: object) -> str:
        key = {k.name: _encode_value(getattr(row, k.name)) for k in self.keys}
        text = json.dumps(key, separators=(",", ":"), ensure_ascii=False)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        """The sort key a cursor holds, or Invalid: never an error further down."""
        key = _json_object(cursor)
        if key is None or set(key) != {k.name for k in self.keys}:
            raise Invalid(INVALID_CURSOR)
        values = [_decode_value(k, key[k.name]) for k in self.keys]
        if any(value is None for value in values):
            raise Invalid(INVALID_CURSOR)
        return values


def order(*keys: Key) -> Order:
    return Order(keys)


def _beyond(key: Key, value: Any) -> ColumnElement[bool]:
    condition: ColumnElement[bool] = key.column < value if key.descending else key.column > value
    return condition


def _json_object(cursor: str) -> dict[str, Any] | None:
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parsed = json.loads(raw.decode("utf-8"), parse_constant=_reject)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _decode_value(key: Key, raw: Any) -> Any:
    """The column's Python value for a cursor field, or None when it is not one."""
    kind = _python_type(key)
    if kind is int:
        return raw if type(raw) is int and raw in INT_RANGE else None
    if not isinstance(raw, str) or not storable_text(raw):
        return None
    try:
        if kind is datetime:
            stamp = datetime.fromisoformat(raw)
            return stamp.astimezone(UTC) if stamp.tzinfo is not None else None
        if kind is uuid.UUID:
            return uuid.UUID(raw)
    except (ValueError, OverflowError):
        return None
    return raw if kind is str else None


def _python_type(key: Key) -> type:
    """What a column holds in Python; a decorated type (UTCDateTime) says it of its impl."""
    sqltype: Any = key.column.type
    if isinstance(sqltype, TypeDecorator):
        sqltype = sqltype.impl_instance
    kind: type = sqltype.python_type
    return kind
