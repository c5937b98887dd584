"""Helpers of the cron tests: literal UTC instants, the 2026 DST transitions they are
checked against, and hypothesis strategies for expressions croniter reads the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st

from shared.contract.errors import Unprocessable
from shared.schedules.cron_parse import parse_cron, validate_timezone
from shared.schedules.cron_walk import ticks_between

H = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def message_for(expr: str) -> str:
    with pytest.raises(Unprocessable) as caught:
        parse_cron(expr)
    return caught.value.message


def fires(expr: str, tz: str, after: datetime, count: int) -> list[datetime]:
    return [
        tick
        for tick, _ in zip(
            ticks_between(expr, tz, after, after + timedelta(days=800)), range(count), strict=False
        )
    ]


@dataclass(frozen=True)
class Shift:
    """One DST transition: the instant it happens and the UTC offsets either side."""

    zone: str
    at: datetime
    before: timedelta
    after: timedelta

    def __str__(self) -> str:
        return f"{self.zone}@{self.at:%Y-%m-%d}"


NY_SPRING = Shift("America/New_York", utc(2026, 3, 8, 7), -5 * H, -4 * H)
NY_FALL = Shift("America/New_York", utc(2026, 11, 1, 6), -4 * H, -5 * H)
AMS_SPRING = Shift("Europe/Amsterdam", utc(2026, 3, 29, 1), 1 * H, 2 * H)
AMS_FALL = Shift("Europe/Amsterdam", utc(2026, 10, 25, 1), 2 * H, 1 * H)
LHI_SPRING = Shift("Australia/Lord_Howe", utc(2026, 10, 3, 15, 30), 10.5 * H, 11 * H)
LHI_FALL = Shift("Australia/Lord_Howe", utc(2026, 4, 4, 15), 11 * H, 10.5 * H)
SHIFTS = [NY_SPRING, NY_FALL, AMS_SPRING, AMS_FALL, LHI_SPRING, LHI_FALL]


def shift_id(value: object) -> str | None:
    """Name a case by its transition; pytest numbers the other parameters."""
    return str(value) if isinstance(value, Shift) else None


def ticks(expr: str, zone: str, after: datetime, until: datetime) -> list[datetime]:
    return list(ticks_between(expr, zone, after, until))


def local(instant: datetime, zone: str) -> str:
    return f"{instant.astimezone(validate_timezone(zone)):%H:%M%z}"


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    # croniter 7 reads a one-value weekday range such as "3-3" as "*", so none are drawn.
    pair = st.tuples(value, value).filter(lambda p: p[0] != p[1]).map(sorted)
    part = st.one_of(
        value.map(str),
        pair.map(lambda p: f"{p[0]}-{p[1]}"),
        st.integers(1, high - low + 1).map(lambda n: f"*/{n}"),
        st.tuples(pair, st.integers(1, 12)).map(lambda t: f"{t[0][0]}-{t[0][1]}/{t[1]}"),
    )
    return st.one_of(st.just("*"), part, st.lists(part, min_size=2, max_size=3).map(",".join))


def day_fields() -> st.SearchStrategy[tuple[str, str]]:
    """At least one day field is `*`, where every cron agrees on the day rule."""
    return st.one_of(
        st.tuples(st.just("*"), cron_field(0, 6)),
        st.tuples(cron_field(1, 31), st.just("*")),
    )


expressions = st.builds(
    lambda minute, hour, days, month: f"{minute} {hour} {days[0]} {month} {days[1]}",
    cron_field(0, 59),
    cron_field(0, 23),
    day_fields(),
    cron_field(1, 12),
)
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


def parses(expr: str) -> bool:
    try:
        parse_cron(expr)
    except Unprocessable:
        return False
    return True
