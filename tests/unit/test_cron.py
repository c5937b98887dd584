"""Cron grammar, its 422 messages, time zone checks and next_fire_after outside DST."""

# The contract's range messages use an EN DASH (U+2013), as in "[0\u201359]".
# ruff: noqa: RUF001

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.contract.errors import Unprocessable
from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone
from shared.schedules.cron_walk import count_ticks, next_fire_after, ticks_between

ALL_MINUTES = frozenset(range(60))
ALL_HOURS = frozenset(range(24))
ALL_DAYS = frozenset(range(1, 32))
ALL_MONTHS = frozenset(range(1, 13))
ALL_WEEKDAYS = frozenset(range(7))


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


# --- grammar ------------------------------------------------------------------------


def test_every_minute_allows_every_value_of_every_field() -> None:
    spec = parse_cron("* * * * *")
    assert (spec.minutes, spec.hours, spec.days, spec.months, spec.weekdays) == (
        ALL_MINUTES,
        ALL_HOURS,
        ALL_DAYS,
        ALL_MONTHS,
        ALL_WEEKDAYS,
    )
    assert not spec.dom_restricted
    assert not spec.dow_restricted


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("5", {5}),
        ("1,15,30", {1, 15, 30}),
        ("10-13", {10, 11, 12, 13}),
        ("*/20", {0, 20, 40}),
        ("5-20/5", {5, 10, 15, 20}),
        ("10/15", {10, 25, 40, 55}),
        ("0-4,50-59/3,30", {0, 1, 2, 3, 4, 30, 50, 53, 56, 59}),
        ("07", {7}),
    ],
)
def test_minute_field_accepts_values_lists_ranges_and_steps(field: str, expected: set[int]) -> None:
    assert parse_cron(f"{field} * * * *").minutes == frozenset(expected)


def test_month_and_weekday_names_are_case_insensitive() -> None:
    spec = parse_cron("0 9 * jan,Jun-AUG mon-fri")
    assert spec.months == {1, 6, 7, 8}
    assert spec.weekdays == {1, 2, 3, 4, 5}


def test_seven_is_sunday_like_zero() -> None:
    assert parse_cron("0 9 * * 7").weekdays == {0}
    assert parse_cron("0 9 * * 5-7").weekdays == {5, 6, 0}
    assert parse_cron("0 9 * * 0-7").weekdays == ALL_WEEKDAYS


def test_a_range_ending_on_sunday_by_name_wraps_to_seven() -> None:
    assert parse_cron("0 9 * * FRI-SUN").weekdays == {5, 6, 0}
    assert parse_cron("0 9 * * SAT-SUN").weekdays == {6, 0}


def test_monday_to_sunday_by_name_is_every_day() -> None:
    assert parse_cron("0 9 * * MON-SUN").weekdays == ALL_WEEKDAYS
    assert parse_cron("0 9 * * 1-SUN").weekdays == ALL_WEEKDAYS


@pytest.mark.parametrize("field", ["SUN-SUN", "sun-Sun", "0-SUN", "SUN-0", "SUN-SUN/2"])
def test_a_range_from_sunday_to_sunday_is_sunday_only(field: str) -> None:
    assert parse_cron(f"0 9 * * {field}").weekdays == {0}


def test_a_sunday_to_sunday_job_fires_on_sundays_only() -> None:
    monday = utc(2026, 5, 4)
    expected = [utc(2026, 5, 10, 9), utc(2026, 5, 17, 9)]
    assert fires("0 9 * * SUN-SUN", "UTC", monday, 2) == expected
    assert fires("0 9 * * 0-SUN", "UTC", monday, 2) == expected


def test_weekday_step_from_a_start_does_not_list_sunday_twice() -> None:
    assert parse_cron("0 9 * * 1/2").weekdays == {1, 3, 5}


@pytest.mark.parametrize(
    ("macro", "equivalent"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_macros_mean_their_five_field_form(macro: str, equivalent: str) -> None:
    expanded, plain = parse_cron(macro), parse_cron(equivalent)
    assert (expanded.minutes, expanded.hours, expanded.days) == (
        plain.minutes,
        plain.hours,
        plain.days,
    )
    assert (expanded.months, expanded.weekdays) == (plain.months, plain.weekdays)
    assert (expanded.dom_restricted, expanded.dow_restricted) == (
        plain.dom_restricted,
        plain.dow_restricted,
    )


def test_surrounding_and_repeated_whitespace_is_ignored() -> None:
    assert parse_cron("  0\t9  * *   1 ").expression == "0\t9  * *   1"


@pytest.mark.parametrize(
    ("expr", "fixed"),
    [
        ("30 9 * * *", True),
        ("0 0 1 1 *", True),
        ("*/15 9 * * *", True),
        ("* 9 * * *", True),
        ("0 9-17 * * *", True),
        ("0 9,21 * * *", True),
        ("0,30 2 * * *", True),
        ("0 0-23 * * *", True),
        ("@daily", True),
        ("0 * * * *", False),
        ("* * * * *", False),
        ("0 */2 * * *", False),
        ("0 0-23/3 * * *", False),
        ("0 5/2 * * *", False),
        ("0 1,*/6 * * *", False),
        ("@hourly", False),
    ],
)
def test_a_job_is_fixed_time_unless_its_hour_is_a_star_or_a_step(expr: str, fixed: bool) -> None:
    assert parse_cron(expr).fixed_time is fixed


def test_a_parsed_spec_is_immutable() -> None:
    spec = parse_cron("0 9 * * *")
    with pytest.raises(AttributeError):
        spec.hours = frozenset({10})  # type: ignore[misc]


# --- 422 messages -------------------------------------------------------------------


def test_six_fields_are_rejected_with_the_contract_message() -> None:
    assert message_for("0 0 9 * * 1") == (
        'Cron expression must have exactly 5 fields, got 6: "0 0 9 * * 1"'
    )


def test_an_out_of_range_minute_is_rejected_with_the_contract_message() -> None:
    assert message_for("61 * * * *") == "Value 61 out of range [0–59] for cron minute field"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "Cron expression is required"),
        ("   ", "Cron expression is required"),
        ("* * * *", 'Cron expression must have exactly 5 fields, got 4: "* * * *"'),
        ("0 24 * * *", "Value 24 out of range [0–23] for cron hour field"),
        ("0 0 0 * *", "Value 0 out of range [1–31] for cron day-of-month field"),
        ("0 0 32 * *", "Value 32 out of range [1–31] for cron day-of-month field"),
        ("0 0 * 13 *", "Value 13 out of range [1–12] for cron month field"),
        ("0 0 * * 8", "Value 8 out of range [0–7] for cron day-of-week field"),
        ("0 0-99 * * *", "Value 99 out of range [0–23] for cron hour field"),
        ("100000 * * * *", "Value 100000 out of range [0–59] for cron minute field"),
        ("*/0 * * * *", 'Step must be a positive integer in cron minute field: "*/0"'),
        ("0 */x * * *", 'Step must be a positive integer in cron hour field: "*/x"'),
        ("0 1-5/ * * *", 'Step must be a positive integer in cron hour field: "1-5/"'),
        ("0 0 * * 5-1", 'Range start 5 is greater than end 1 in cron day-of-week field: "5-1"'),
        ("0 0 * DEC-JAN *", 'Range start 12 is greater than end 1 in cron month field: "DEC-JAN"'),
        ("0 0 * FOO *", 'Unknown name "FOO" in cron month field'),
        ("0 0 * * MONDAY", 'Unknown name "MONDAY" in cron day-of-week field'),
        ("0 0 * JAN MAR", 'Unknown name "MAR" in cron day-of-week field'),
        ("1.5 * * * *", 'Invalid value "1.5" in cron minute field: "1.5"'),
        ("-5 * * * *", 'Invalid value "" in cron minute field: "-5"'),
        ("1,,2 * * * *", 'Empty list item in cron minute field: "1,,2"'),
        ("0 0 ? * MON", 'Unsupported token "?" in cron day-of-month field: "?"'),
        ("0 0 L * *", 'Unsupported token "L" in cron day-of-month field: "L"'),
        ("0 0 15W * *", 'Unsupported token "W" in cron day-of-month field: "15W"'),
        ("0 0 LW * *", 'Unsupported token "LW" in cron day-of-month field: "LW"'),
        ("0 0 * * 5L", 'Unsupported token "L" in cron day-of-week field: "5L"'),
        ("0 0 * * MON#2", 'Unsupported token "#" in cron day-of-week field: "MON#2"'),
        ("@reboot", 'Unsupported cron macro: "@reboot"'),
        ("@every 5m", 'Unknown cron macro: "@every 5m"'),
        ("0 0 31 2 *", 'Cron expression never matches: "0 0 31 2 *"'),
        ("0 0 30,31 2 *", 'Cron expression never matches: "0 0 30,31 2 *"'),
    ],
)
def test_invalid_expressions_are_rejected_naming_the_problem(expr: str, message: str) -> None:
    assert message_for(expr) == message


def test_a_day_no_month_has_is_fine_when_weekdays_also_match() -> None:
    assert next_fire_after("0 0 31 2 MON", "UTC", utc(2026, 1, 1)) == utc(2026, 2, 2)


def test_leap_day_job_waits_for_the_next_leap_year() -> None:
    assert next_fire_after("0 0 29 2 *", "UTC", utc(2026, 3, 1)) == utc(2028, 2, 29)


def test_leap_day_job_survives_the_eight_year_gap_around_2100() -> None:
    assert next_fire_after("0 0 29 2 *", "UTC", utc(2096, 3, 1)) == utc(2104, 2, 29)


# --- time zones ---------------------------------------------------------------------


def test_a_known_zone_is_returned_as_zoneinfo() -> None:
    zone = validate_timezone("Asia/Kolkata")
    assert isinstance(zone, ZoneInfo)
    assert zone.key == "Asia/Kolkata"
    assert utc(2026, 5, 4).astimezone(zone).utcoffset() == timedelta(hours=5, minutes=30)
    assert validate_timezone("Asia/Kolkata") is zone


@pytest.mark.parametrize(
    "name", ["UTC", "Etc/UTC", "US/Eastern", "Europe/Amsterdam", "Australia/Lord_Howe"]
)
def test_iana_zone_names_and_their_backward_links_are_accepted(name: str) -> None:
    assert validate_timezone(name).key == name


def test_a_zone_is_read_from_the_tzdata_package_not_the_hosts_zoneinfo_directory(
    tmp_path: Path,
) -> None:
    """A host whose zoneinfo says New York is UTC does not change New York for us."""
    (tmp_path / "America").mkdir()
    (tmp_path / "America" / "New_York").write_bytes(
        resources.files("tzdata").joinpath("zoneinfo", "UTC").read_bytes()
    )
    january = utc(2026, 1, 15, 12)
    validate_timezone.cache_clear()
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    ZoneInfo.clear_cache()
    try:
        assert january.astimezone(ZoneInfo("America/New_York")).utcoffset() == timedelta(0)
        zone = validate_timezone("America/New_York")
        assert january.astimezone(zone).utcoffset() == timedelta(hours=-5)
    finally:
        zoneinfo.reset_tzpath()
        ZoneInfo.clear_cache()
        validate_timezone.cache_clear()


@pytest.mark.parametrize(
    "name",
    [
        "localtime",
        "posixrules",
        "Factory",
        "right/UTC",
        "posix/UTC",
        "posix/America/New_York",
        "us/eastern",
        "Mars/Olympus",
        "",
        "../etc/passwd",
        "/etc/passwd",
        "America",
        "America/",
        "America//New_York",
        "zone.tab",
        "Europe/Amsterdam\x00",
        "Europe/Amsterdam ",
        "x" * 300,
    ],
)
def test_unknown_or_path_like_zones_are_rejected_as_invalid_timezone(name: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        validate_timezone(name)
    assert caught.value.message == f"Invalid timezone: {name}"


def test_next_fire_after_rejects_an_invalid_timezone() -> None:
    with pytest.raises(Unprocessable, match=r"^Invalid timezone: Mars/Olympus$"):
        next_fire_after("0 9 * * *", "Mars/Olympus", utc(2026, 1, 1))


def test_a_naive_datetime_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        next_fire_after("0 9 * * *", "UTC", datetime(2026, 1, 1))


# --- next_fire_after ----------------------------------------------------------------


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


# --- properties ---------------------------------------------------------------------


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
