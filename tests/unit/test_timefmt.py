"""Timestamps on the wire: ISO 8601 in UTC, milliseconds, and a Z."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from shared.contract.timefmt import iso, iso_or_none


def test_a_utc_time_is_written_with_milliseconds_and_z() -> None:
    moment = datetime(2026, 11, 23, 8, 30, 49, 364_999, tzinfo=UTC)
    assert iso(moment) == "2026-11-23T08:30:49.364Z"


def test_whole_seconds_still_carry_three_decimals() -> None:
    assert iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_another_offset_is_converted_to_utc() -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 23, 9, 30, 49, 364_000, tzinfo=paris)
    assert iso(moment) == "2026-11-23T08:30:49.364Z"


def test_conversion_can_cross_midnight() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert iso(datetime(2026, 1, 1, 5, 0, tzinfo=tokyo)) == "2025-12-31T20:00:00.000Z"


def test_iso_or_none_passes_none_through() -> None:
    assert iso_or_none(None) is None
    assert iso_or_none(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000Z"
