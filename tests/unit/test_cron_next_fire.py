"""next_fire_after, ticks_between and count_ticks outside DST, with literal dates and
against croniter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.contract.errors import Unprocessable
from shared.schedules.cron_parse import CronSpec, parse_cron
from shared.schedules.cron_walk import count_ticks, next_fire_after, ticks_between
from tests.support.cron import expressions, fires, instants, parses, utc


def test_a_tick_exactly_at_after_is_not_returned() -> None:
    assert next_fire_after("0 9 * * *", "UTC", utc(2026, 5, 4, 9)) == utc(2026, 5, 5, 9)


def test_a_tick_a_microsecond_after_after_is_returned() -> None:
    after = utc(2026, 5, 4, 8, 59, 59, 999_999)
    assert next_fire_after("0 9 * * *", "UTC", after) == utc(2026, 5, 4, 9)


def test_every_minute_job_fires_at_the_next_whole_minute() -> None:
    assert next_fire_after("* * * * *", "UTC", utc(2026, 5, 4, 9, 0, 30)) == utc(2026, 5, 4, 9, 1)


def test_after_in_another_offset_is_the_same_instant() -> None:
    after = datetime(2026, 5, 4, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert next_fire_after("30 9 * * *", "UTC", after) == utc(2026, 5, 4, 9, 30)


def test_results_are_in_utc() -> None:
    assert next_fire_after("0 9 * * *", "Asia/Kolkata", utc(2026, 5, 4)).tzinfo is UTC


def test_fixed_time_job_in_kolkata_fires_at_its_half_hour_offset() -> None:
    assert fires("0 9 * * *", "Asia/Kolkata", utc(2026, 5, 4), 2) == [
        utc(2026, 5, 4, 3, 30),
        utc(2026, 5, 5, 3, 30),
    ]


def test_hourly_job_in_kolkata_fires_at_half_past_each_utc_hour() -> None:
    assert fires("0 * * * *", "Asia/Kolkata", utc(2026, 5, 4, 10, 5), 2) == [
        utc(2026, 5, 4, 10, 30),
        utc(2026, 5, 4, 11, 30),
    ]


def test_a_local_midnight_can_be_the_previous_utc_day() -> None:
    assert next_fire_after("0 0 1 * *", "Asia/Kolkata", utc(2026, 5, 4)) == utc(2026, 5, 31, 18, 30)


def test_weekday_job_skips_the_weekend() -> None:
    friday_after_nine = utc(2026, 5, 8, 10)
    assert fires("0 9 * * 1-5", "UTC", friday_after_nine, 2) == [
        utc(2026, 5, 11, 9),
        utc(2026, 5, 12, 9),
    ]


def test_day_fields_both_restricted_match_either_one() -> None:
    # July 2026: the 1st is a Wednesday; Mondays are the 6th, 13th, 20th and 27th.
    assert fires("0 9 1 * MON", "UTC", utc(2026, 6, 30), 6) == [
        utc(2026, 7, 1, 9),
        utc(2026, 7, 6, 9),
        utc(2026, 7, 13, 9),
        utc(2026, 7, 20, 9),
        utc(2026, 7, 27, 9),
        utc(2026, 8, 1, 9),
    ]


def test_one_restricted_day_field_is_the_only_day_rule() -> None:
    assert fires("0 9 1 * *", "UTC", utc(2026, 6, 30), 2) == [
        utc(2026, 7, 1, 9),
        utc(2026, 8, 1, 9),
    ]
    assert fires("0 9 * * MON", "UTC", utc(2026, 6, 30), 2) == [
        utc(2026, 7, 6, 9),
        utc(2026, 7, 13, 9),
    ]


def test_a_job_limited_to_a_month_waits_for_it() -> None:
    assert next_fire_after("0 9 * JUN *", "UTC", utc(2026, 1, 15)) == utc(2026, 6, 1, 9)


def test_steps_and_lists_fire_in_order_across_the_hour() -> None:
    assert fires("10-50/20,55 * * * *", "UTC", utc(2026, 5, 4, 9, 12), 5) == [
        utc(2026, 5, 4, 9, 30),
        utc(2026, 5, 4, 9, 50),
        utc(2026, 5, 4, 9, 55),
        utc(2026, 5, 4, 10, 10),
        utc(2026, 5, 4, 10, 30),
    ]


def test_a_parsed_spec_can_be_passed_instead_of_text() -> None:
    spec: CronSpec = parse_cron("0 9 * * *")
    assert next_fire_after(spec, "UTC", utc(2026, 5, 4)) == utc(2026, 5, 4, 9)


def test_ticks_between_includes_until_and_excludes_after() -> None:
    ticks = list(ticks_between("0 * * * *", "UTC", utc(2026, 5, 4, 9), utc(2026, 5, 4, 11)))
    assert ticks == [utc(2026, 5, 4, 10), utc(2026, 5, 4, 11)]


def test_ticks_between_checks_its_input_before_iterating() -> None:
    with pytest.raises(Unprocessable):
        ticks_between("61 * * * *", "UTC", utc(2026, 5, 4), utc(2026, 5, 5))


def test_count_ticks_counts_a_year_of_minutes_exactly() -> None:
    assert count_ticks("* * * * *", "UTC", utc(2026, 1, 1), utc(2027, 1, 1)) == 525_600


@settings(max_examples=300, deadline=None)
@given(expr=expressions, after=instants)
def test_in_utc_next_fire_after_is_later_and_agrees_with_croniter(
    expr: str, after: datetime
) -> None:
    assume(parses(expr))
    found = next_fire_after(expr, "UTC", after)
    assert found > after
    assert found == croniter(expr, after).get_next(datetime)


@settings(max_examples=100, deadline=None)
@given(
    expr=expressions,
    after=instants,
    hours=st.integers(0, 24 * 40),
    tz=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York", "Australia/Lord_Howe"]),
)
def test_count_ticks_agrees_with_listing_them(
    expr: str, after: datetime, hours: int, tz: str
) -> None:
    assume(parses(expr))
    until = after + timedelta(hours=hours, minutes=7)
    ticks = list(ticks_between(expr, tz, after, until))
    assert count_ticks(expr, tz, after, until) == len(ticks)
    assert all(after < tick <= until for tick in ticks)
    assert ticks == sorted(set(ticks))
