"""Daylight saving (API.md 4.1): fixed-time jobs fire once per wall time, others on real time.

Every expectation is a literal UTC instant, checked for the 2026 transitions of New York,
Amsterdam and Lord Howe (a 30-minute shift). Zones are read as the code reads them
(validate_timezone: the tzdata package), not from the host.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.schedules.cron_parse import validate_timezone
from shared.schedules.cron_walk import next_fire_after
from tests.support.cron import (
    AMS_FALL,
    AMS_SPRING,
    LHI_FALL,
    LHI_SPRING,
    NY_FALL,
    NY_SPRING,
    SHIFTS,
    H,
    Shift,
    local,
    shift_id,
    ticks,
    utc,
)


@pytest.mark.parametrize("shift", SHIFTS, ids=str)
def test_the_zone_data_agrees_with_the_transition_table(shift: Shift) -> None:
    zone = validate_timezone(shift.zone)
    assert (shift.at - timedelta(seconds=1)).astimezone(zone).utcoffset() == shift.before
    assert shift.at.astimezone(zone).utcoffset() == shift.after


@pytest.mark.parametrize("shift", SHIFTS, ids=str)
def test_every_minute_job_fires_once_per_real_minute_across_the_change(shift: Shift) -> None:
    fired = ticks("* * * * *", shift.zone, shift.at - 5 * H, shift.at + 5 * H)
    assert fired == [shift.at - 5 * H + timedelta(minutes=n) for n in range(1, 601)]


@pytest.mark.parametrize("shift", SHIFTS, ids=str)
def test_quarter_hour_job_fires_at_every_real_quarter_hour(shift: Shift) -> None:
    fired = ticks("*/15 * * * *", shift.zone, shift.at - 2 * H, shift.at + 2 * H)
    assert fired == [shift.at - 2 * H + timedelta(minutes=15 * n) for n in range(1, 17)]


@pytest.mark.parametrize(
    ("shift", "expected", "walls"),
    [
        (
            NY_SPRING,
            [utc(2026, 3, 8, 6), utc(2026, 3, 8, 7), utc(2026, 3, 8, 8)],
            ["01:00-0500", "03:00-0400", "04:00-0400"],
        ),
        (
            AMS_SPRING,
            [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)],
            ["01:00+0100", "03:00+0200", "04:00+0200"],
        ),
        (
            LHI_SPRING,
            [utc(2026, 10, 3, 14, 30), utc(2026, 10, 3, 16), utc(2026, 10, 3, 17)],
            ["01:00+1030", "03:00+1100", "04:00+1100"],
        ),
    ],
    ids=shift_id,
)
def test_hourly_job_has_no_tick_for_the_hour_spring_forward_skips(
    shift: Shift, expected: list[datetime], walls: list[str]
) -> None:
    fired = ticks("0 * * * *", shift.zone, shift.at - 90 * timedelta(minutes=1), expected[-1])
    assert fired == expected
    assert [local(tick, shift.zone) for tick in fired] == walls


@pytest.mark.parametrize(
    ("shift", "expected", "walls"),
    [
        (
            NY_FALL,
            [utc(2026, 11, 1, 5), utc(2026, 11, 1, 6), utc(2026, 11, 1, 7)],
            ["01:00-0400", "01:00-0500", "02:00-0500"],
        ),
        (
            AMS_FALL,
            [utc(2026, 10, 25, 0), utc(2026, 10, 25, 1), utc(2026, 10, 25, 2)],
            ["02:00+0200", "02:00+0100", "03:00+0100"],
        ),
        (
            LHI_FALL,
            [utc(2026, 4, 4, 14), utc(2026, 4, 4, 15, 30), utc(2026, 4, 4, 16, 30)],
            ["01:00+1100", "02:00+1030", "03:00+1030"],
        ),
    ],
    ids=shift_id,
)
def test_hourly_job_fires_once_per_real_hour_when_fall_back_repeats_one(
    shift: Shift, expected: list[datetime], walls: list[str]
) -> None:
    fired = ticks("0 * * * *", shift.zone, shift.at - 90 * timedelta(minutes=1), expected[-1])
    assert fired == expected
    assert [local(tick, shift.zone) for tick in fired] == walls


def test_a_minute_inside_lord_howes_repeated_half_hour_fires_twice_for_elapsed_jobs() -> None:
    fired = ticks("45 * * * *", "Australia/Lord_Howe", utc(2026, 4, 4, 14), utc(2026, 4, 4, 16))
    assert fired == [utc(2026, 4, 4, 14, 45), utc(2026, 4, 4, 15, 15)]


@pytest.mark.parametrize(
    ("shift", "expr", "day_before", "on_the_day", "day_after"),
    [
        (
            NY_SPRING,
            "30 2 * * *",
            utc(2026, 3, 7, 7, 30),
            utc(2026, 3, 8, 7),
            utc(2026, 3, 9, 6, 30),
        ),
        (
            AMS_SPRING,
            "30 2 * * *",
            utc(2026, 3, 28, 1, 30),
            utc(2026, 3, 29, 1),
            utc(2026, 3, 30, 0, 30),
        ),
        (
            LHI_SPRING,
            "15 2 * * *",
            utc(2026, 10, 2, 15, 45),
            utc(2026, 10, 3, 15, 30),
            utc(2026, 10, 4, 15, 15),
        ),
    ],
    ids=shift_id,
)
def test_fixed_time_in_the_gap_fires_once_at_the_first_instant_after_it(
    shift: Shift, expr: str, day_before: datetime, on_the_day: datetime, day_after: datetime
) -> None:
    fired = ticks(expr, shift.zone, day_before - H, day_after)
    assert fired == [day_before, on_the_day, day_after]
    assert on_the_day == shift.at


@pytest.mark.parametrize(
    ("shift", "expr", "day_before", "on_the_day", "day_after"),
    [
        (
            NY_FALL,
            "30 1 * * *",
            utc(2026, 10, 31, 5, 30),
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 2, 6, 30),
        ),
        (
            AMS_FALL,
            "30 2 * * *",
            utc(2026, 10, 24, 0, 30),
            utc(2026, 10, 25, 0, 30),
            utc(2026, 10, 26, 1, 30),
        ),
        (
            LHI_FALL,
            "45 1 * * *",
            utc(2026, 4, 3, 14, 45),
            utc(2026, 4, 4, 14, 45),
            utc(2026, 4, 5, 15, 15),
        ),
    ],
    ids=shift_id,
)
def test_fixed_time_in_the_repeated_hour_fires_once_at_the_first_occurrence(
    shift: Shift, expr: str, day_before: datetime, on_the_day: datetime, day_after: datetime
) -> None:
    fired = ticks(expr, shift.zone, day_before - H, day_after)
    assert fired == [day_before, on_the_day, day_after]
    assert next_fire_after(expr, shift.zone, on_the_day) == day_after


@pytest.mark.parametrize(
    ("shift", "expr", "second_occurrence", "next_day"),
    [
        (NY_FALL, "30 1 * * *", utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 6, 30)),
        (AMS_FALL, "30 2 * * *", utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 1, 30)),
        (LHI_FALL, "45 1 * * *", utc(2026, 4, 4, 15, 15), utc(2026, 4, 5, 15, 15)),
    ],
    ids=shift_id,
)
def test_fixed_time_does_not_fire_again_when_the_repeated_hour_comes_round(
    shift: Shift, expr: str, second_occurrence: datetime, next_day: datetime
) -> None:
    just_before_it = second_occurrence - timedelta(minutes=1)
    assert next_fire_after(expr, shift.zone, just_before_it) == next_day


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        (NY_SPRING, [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13), utc(2026, 3, 9, 13)]),
        (NY_FALL, [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14), utc(2026, 11, 2, 14)]),
        (AMS_SPRING, [utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]),
        (AMS_FALL, [utc(2026, 10, 24, 7), utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]),
        (LHI_SPRING, [utc(2026, 10, 2, 22, 30), utc(2026, 10, 3, 22), utc(2026, 10, 4, 22)]),
        (LHI_FALL, [utc(2026, 4, 3, 22), utc(2026, 4, 4, 22, 30), utc(2026, 4, 5, 22, 30)]),
    ],
    ids=shift_id,
)
def test_fixed_time_away_from_the_change_keeps_its_wall_time_as_the_offset_moves(
    shift: Shift, expected: list[datetime]
) -> None:
    fired = ticks("0 9 * * *", shift.zone, expected[0] - H, expected[-1])
    assert fired == expected
    walls = {f"{tick.astimezone(validate_timezone(shift.zone)):%H:%M}" for tick in fired}
    assert walls == {"09:00"}
    assert len({tick.astimezone(validate_timezone(shift.zone)).utcoffset() for tick in fired}) == 2
