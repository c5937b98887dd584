"""Daylight saving (API.md 4.1): fixed-time jobs fire once per wall time, others on real time.

Every expectation is a literal UTC instant, checked for the 2026 transitions of New York,
Amsterdam and Lord Howe (a 30-minute shift), and for zones without DST. Zones are read as
the code reads them (validate_timezone: the tzdata package), not from the host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone
from shared.schedules.cron_walk import count_ticks, next_fire_after, ticks_between
from tests.unit.test_cron import cron_field, expressions, parses

H = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


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


# --- fixed-time jobs with several wall times a day ------------------------------------


def test_two_wall_times_inside_the_gap_fire_once_at_its_end_and_as_usual_on_other_days() -> None:
    fired = ticks("0,30 2 * * *", "America/New_York", utc(2026, 3, 7, 5), utc(2026, 3, 9, 12))
    assert fired == [
        utc(2026, 3, 7, 7),
        utc(2026, 3, 7, 7, 30),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 9, 6),
        utc(2026, 3, 9, 6, 30),
    ]
    walls = [local(tick, "America/New_York") for tick in fired]
    assert walls == ["02:00-0500", "02:30-0500", "03:00-0400", "02:00-0400", "02:30-0400"]


def test_a_wall_time_in_the_gap_and_the_one_it_resolves_to_make_one_tick() -> None:
    fired = ticks("0 2,3 * * *", "America/New_York", utc(2026, 3, 7, 5), utc(2026, 3, 9, 12))
    assert fired == [
        utc(2026, 3, 7, 7),
        utc(2026, 3, 7, 8),
        utc(2026, 3, 8, 7),
        utc(2026, 3, 9, 6),
        utc(2026, 3, 9, 7),
    ]


def test_every_quarter_of_a_fixed_hour_in_the_gap_fires_once_at_its_end() -> None:
    fired = ticks("*/15 2 * * *", "America/New_York", utc(2026, 3, 8), utc(2026, 3, 8, 23))
    assert fired == [utc(2026, 3, 8, 7)]
    assert local(fired[0], "America/New_York") == "03:00-0400"


def test_every_quarter_of_a_fixed_hour_fires_in_the_first_pass_of_a_repeated_hour_only() -> None:
    fired = ticks("*/15 1 * * *", "America/New_York", utc(2026, 11, 1), utc(2026, 11, 1, 23))
    assert fired == [utc(2026, 11, 1, 5, 15 * n) for n in range(4)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (
            "30 1,13 * * *",
            [
                *[utc(2026, 10, 31, 5, 30), utc(2026, 10, 31, 17, 30)],
                *[utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 18, 30)],
                *[utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 18, 30)],
            ],
        ),
        (
            "30 1-2 * * *",
            [
                *[utc(2026, 10, 31, 5, 30), utc(2026, 10, 31, 6, 30)],
                *[utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30)],
                *[utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 7, 30)],
            ],
        ),
    ],
)
def test_a_list_or_range_of_hours_fires_once_at_the_first_occurrence_of_the_repeated_hour(
    expr: str, expected: list[datetime]
) -> None:
    fired = ticks(expr, "America/New_York", utc(2026, 10, 31), utc(2026, 11, 2, 23))
    assert fired == expected
    assert local(fired[2], "America/New_York") == "01:30-0400"


@pytest.mark.parametrize(
    ("expr", "next_tick"),
    [("30 1,13 * * *", utc(2026, 11, 1, 18, 30)), ("30 1-2 * * *", utc(2026, 11, 1, 7, 30))],
)
def test_a_list_of_hours_does_not_fire_again_when_the_repeated_hour_comes_round(
    expr: str, next_tick: datetime
) -> None:
    just_before_the_second_0130 = utc(2026, 11, 1, 6, 29)
    assert next_fire_after(expr, "America/New_York", just_before_the_second_0130) == next_tick


def test_a_step_in_the_hour_stays_elapsed_and_fires_in_both_passes_of_the_repeated_hour() -> None:
    fired = ticks("0 */2 * * *", "Europe/Amsterdam", utc(2026, 10, 24, 21), utc(2026, 10, 25, 4))
    assert fired == [
        utc(2026, 10, 24, 22),
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 1),
        utc(2026, 10, 25, 3),
    ]
    walls = [local(tick, "Europe/Amsterdam") for tick in fired]
    assert walls == ["00:00+0200", "02:00+0200", "02:00+0100", "04:00+0100"]


def test_a_step_in_the_hour_stays_elapsed_and_has_no_tick_in_the_gap() -> None:
    fired = ticks("0 */2 * * *", "Europe/Amsterdam", utc(2026, 3, 28, 22), utc(2026, 3, 29, 3))
    assert fired == [utc(2026, 3, 28, 23), utc(2026, 3, 29, 2)]
    assert [local(tick, "Europe/Amsterdam") for tick in fired] == ["00:00+0100", "04:00+0200"]


COUNTED = [
    "0,30 2 * * *",
    "0 2,3 * * *",
    "30 1,13 * * *",
    "30 1-2 * * *",
    "*/15 2 * * *",
    "*/15 1 * * *",
    "30 2 * * *",
    "0 */2 * * *",
    "0 * * * *",
    "*/10 * * * *",
]


@pytest.mark.parametrize("expr", COUNTED)
@pytest.mark.parametrize("shift", SHIFTS, ids=str)
def test_count_ticks_agrees_with_listing_them_across_the_change(expr: str, shift: Shift) -> None:
    for start in range(-26 * 60, 3 * 60, 17):
        after = shift.at + timedelta(minutes=start, seconds=23)
        for length in (timedelta(minutes=41), 3 * H, timedelta(days=2)):
            listed = ticks(expr, shift.zone, after, after + length)
            assert count_ticks(expr, shift.zone, after, after + length) == len(listed)
            assert all(a < b for a, b in pairwise(listed))


# --- zones without DST, on New York's transition days ---------------------------------


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


# --- against a minute-by-minute oracle ------------------------------------------------


def wall_matches(spec: CronSpec, wall: datetime) -> bool:
    return wall.minute in spec.minutes and wall.hour in spec.hours and spec.matches_day(wall)


def oracle(expr: str, zone: str, after: datetime, window: timedelta) -> datetime | None:
    """API.md 4.1 read literally, one real minute at a time: an elapsed job fires when
    the wall clock matches; a fixed-time job fires at each matching wall time the first
    time the wall clock reaches it (or passes it, when a gap swallowed it)."""
    spec, tz, minute = parse_cron(expr), validate_timezone(zone), timedelta(minutes=1)
    fired: set[datetime] = set()
    instant = after.replace(second=0, microsecond=0) - timedelta(days=1)
    while instant < after + window:
        wall = instant.astimezone(tz).replace(tzinfo=None)
        if spec.fixed_time:
            target = (instant - minute).astimezone(tz).replace(tzinfo=None) + minute
            reached = False
            while target <= wall:  # one wall time, or all those a gap jumped over
                if wall_matches(spec, target) and target not in fired:
                    fired.add(target)
                    reached = True
                target += minute
            if reached and instant > after:
                return instant
        elif instant > after and wall_matches(spec, wall):
            return instant
        instant += minute
    return None


@settings(max_examples=80, deadline=None)
@given(
    expr=expressions,
    near_the_change=st.one_of(st.none(), st.tuples(cron_field(0, 59), cron_field(0, 3))),
    shift=st.sampled_from(SHIFTS),
    minutes=st.integers(-24 * 60, 12 * 60),
)
def test_next_fire_after_agrees_with_the_minute_by_minute_oracle(
    expr: str, near_the_change: tuple[str, str] | None, shift: Shift, minutes: int
) -> None:
    if near_the_change is not None:  # minute and hour fields around 01:00-03:00
        expr = " ".join([*near_the_change, *expr.split()[2:]])
    assume(parses(expr))
    after = shift.at + timedelta(minutes=minutes, seconds=17)
    expected = oracle(expr, shift.zone, after, timedelta(days=2))
    assume(expected is not None)
    assert next_fire_after(expr, shift.zone, after) == expected
