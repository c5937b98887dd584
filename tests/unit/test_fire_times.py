"""The pure parts of preview and backfill: the listed fire times are the scheduler's chain
of next_fire_after, the count query parameter, and the instants of a backfill body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.contract.bodies import Backfill
from shared.contract.errors import Invalid
from shared.contract.parsing import parse_body
from shared.schedules.cron_walk import next_fire_after
from shared.schedules.preview import next_fire_times, parse_count

#: Around Berlin's and New York's 2027 changes, and Lord Howe's half-hour one.
STARTS = [
    datetime(2027, 3, 13, 22, 0, tzinfo=UTC),
    datetime(2027, 3, 27, 20, 0, tzinfo=UTC),
    datetime(2027, 10, 30, 20, 0, tzinfo=UTC),
    datetime(2027, 4, 3, 12, 0, tzinfo=UTC),
]
CRONS = ["30 2 * * *", "*/20 * * * *", "15 1-3 * * *", "0 */2 * * *", "0 0 29 2 *", "@weekly"]
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]


def chained(cron: str, zone: str, now: datetime, count: int) -> list[datetime]:
    """What the scheduler fires: each tick computed from the previous one."""
    times, at = [], now
    for _ in range(count):
        at = next_fire_after(cron, zone, at)
        times.append(at)
    return times


@pytest.mark.parametrize("now", STARTS)
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("cron", CRONS)
def test_fire_times_are_the_schedulers_chain(cron: str, zone: str, now: datetime) -> None:
    assert list(next_fire_times(cron, zone, now=now, count=12)) == chained(cron, zone, now, 12)


def test_fire_times_are_strictly_after_now() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert next_fire_times("0 9 * * *", "UTC", now=now, count=1) == (now + timedelta(days=1),)


@pytest.mark.parametrize(("raw", "count"), [(None, 10), ("1", 1), ("100", 100), ("007", 7)])
def test_a_count_in_range_is_taken(raw: str | None, count: int) -> None:
    assert parse_count(raw) == count


@pytest.mark.parametrize("raw", ["0", "101", "", " 5", "5 ", "+5", "-1", "1.0", "x", "٣", "1" * 40])
def test_any_other_count_is_a_400(raw: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_count(raw)
    assert caught.value.details == [
        {"path": ["count"], "message": "Expected a whole number 1..100"}
    ]


def test_backfill_bounds_are_read_as_instants_in_utc() -> None:
    body = parse_body(Backfill, {"from": "2026-11-23T10:00:00+01:00", "to": "2026-11-23T09:30Z"})
    assert body.start == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert body.end == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert body.start.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-23T10:00:00", "Expected an ISO 8601 instant with a time zone"),
        ("2026-11-23", "Expected an ISO 8601 instant with a time zone"),
        ("tomorrow", "Expected an ISO 8601 instant"),
        ("0001-01-01T00:00:00+00:01", "Expected an ISO 8601 instant"),
        (1763892000, "Expected string, received number"),
        (None, "Expected string, received null"),
    ],
)
def test_a_backfill_bound_that_is_no_instant_is_named(value: object, message: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_body(Backfill, {"from": value, "to": "2026-11-23T09:30:00Z"})
    assert caught.value.details == [{"path": ["from"], "message": message}]
