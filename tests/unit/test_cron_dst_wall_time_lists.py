"""Daylight saving for fixed-time jobs with several wall times a day (lists, ranges and
steps of minutes or hours): each wall time fires once, in the gap and in the repeated
hour alike, and count_ticks agrees with the ticks listed across a change."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest

from shared.schedules.cron_walk import count_ticks, next_fire_after
from tests.support.cron import SHIFTS, H, Shift, local, ticks, utc


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
