"""The cursor of shared/contract/paging.py: a row's sort key there and back, and nothing else."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy.dialects import sqlite

from shared.contract.errors import Invalid
from shared.routines.reading import ROUTINE_ORDER
from shared.work.issues import ISSUE_ORDER

AT = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)
ID = uuid.UUID("4f6c1a52-8d0e-4c5e-9b2a-3d1f0e7c6b5a")


def raw(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def test_a_cursor_gives_back_the_sort_key_of_the_row_it_was_made_from() -> None:
    row = SimpleNamespace(created_at=AT, number=7, id=ID)
    assert ISSUE_ORDER.decode(ISSUE_ORDER.encode(row)) == [AT, 7, ID]


def test_a_cursor_is_url_safe_without_padding_even_for_a_unicode_title() -> None:
    row = SimpleNamespace(updated_at=AT, title="Ünïcødé ✓ 🚀" * 18, id=ID)
    cursor = ROUTINE_ORDER.encode(row)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert ROUTINE_ORDER.decode(cursor) == [AT, row.title, ID]


def test_a_time_in_another_zone_is_the_same_instant_in_utc() -> None:
    paris = AT.astimezone(timezone(timedelta(hours=1))).isoformat()
    decoded = ISSUE_ORDER.decode(raw({"created_at": paris, "number": 1, "id": str(ID)}))
    assert decoded[0] == AT
    assert decoded[0].tzinfo == UTC


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        "eyJ9",
        raw({"created_at": AT.isoformat(), "number": 1}),
        raw({"created_at": AT.isoformat(), "number": -(2**31) - 1, "id": str(ID)}),
        raw({"created_at": "9999-12-31T23:00:00-05:00", "number": 1, "id": str(ID)}),
        raw({"created_at": None, "number": 1, "id": str(ID)}),
        raw("created_at"),
    ],
)
def test_anything_but_a_well_formed_key_of_this_order_is_invalid(cursor: str) -> None:
    with pytest.raises(Invalid, match=r"^Invalid cursor$"):
        ISSUE_ORDER.decode(cursor)


def test_the_two_directions_of_a_mixed_order_are_spelled_out_for_sqlite() -> None:
    condition = ROUTINE_ORDER.after([AT, "T", ID])
    sql = str(condition.compile(dialect=sqlite.dialect()))
    assert "routines.updated_at <= ?" in sql
    assert "routines.updated_at < ?" in sql
    assert "routines.title > ?" in sql
    assert "routines.id > ?" in sql
    assert "(routines.updated_at, " not in sql
