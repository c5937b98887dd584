"""Zones without DST (Kolkata, UTC) on New York's transition days and all year: every
job keeps its UTC instants."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from shared.schedules.cron_walk import next_fire_after
from tests.support.cron import NY_FALL, NY_SPRING, H, local, ticks, utc


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("day", [NY_SPRING.at, NY_FALL.at], ids=["spring", "fall"])
def test_without_dst_every_minute_and_hourly_jobs_are_plain(zone: str, day: datetime) -> None:
    minutes = ticks("* * * * *", zone, day - 3 * H, day + 3 * H)
    assert minutes == [day - 3 * H + timedelta(minutes=n) for n in range(1, 361)]
    hours = ticks("0 * * * *", zone, day - 3 * H, day + 3 * H)
    assert [b - a for a, b in pairwise(hours)] == [H] * 5
    assert all(local(tick, zone)[3:5] == "00" for tick in hours)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Kolkata", [utc(2026, 3, 6, 21), utc(2026, 3, 7, 21), utc(2026, 3, 8, 21)]),
        ("UTC", [utc(2026, 3, 7, 2, 30), utc(2026, 3, 8, 2, 30), utc(2026, 3, 9, 2, 30)]),
    ],
)
def test_without_dst_a_fixed_time_fires_daily_at_the_same_utc_instant(
    zone: str, expected: list[datetime]
) -> None:
    assert ticks("30 2 * * *", zone, expected[0] - H, expected[-1]) == expected


@pytest.mark.parametrize(("zone", "nine_am"), [("Asia/Kolkata", (3, 30)), ("UTC", (9, 0))])
def test_without_dst_a_fixed_time_keeps_its_utc_instant_all_year(
    zone: str, nine_am: tuple[int, int]
) -> None:
    for month in (1, 4, 7, 11):
        assert next_fire_after("0 9 * * *", zone, utc(2026, month, 1)) == utc(
            2026, month, 1, *nine_am
        )
