"""Cron grammar: fields, names, macros, fixed-time or elapsed jobs, and the 422 messages
of expressions the contract rejects."""

# The contract's range messages use an EN DASH (U+2013), as in "[0\u201359]".
# ruff: noqa: RUF001

from __future__ import annotations

import pytest

from shared.schedules.cron_parse import parse_cron
from shared.schedules.cron_walk import next_fire_after
from tests.support.cron import fires, message_for, utc

ALL_MINUTES = frozenset(range(60))
ALL_HOURS = frozenset(range(24))
ALL_DAYS = frozenset(range(1, 32))
ALL_MONTHS = frozenset(range(1, 13))
ALL_WEEKDAYS = frozenset(range(7))


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
