"""Five-field cron expressions and IANA time zones: parsed and checked once (API.md 4.1).

A bad expression or zone is a 422 here, at parse time, including dates no calendar has
(31 February), so the time walk (`shared.schedules.cron_walk`) only sees valid input.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from shared.contract.errors import Unprocessable

#: How far ahead a search looks: longer than the 8 years between 29 Februaries around 2100.
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_UNSUPPORTED_MACROS = frozenset({"@reboot"})
#: Quartz extensions: last day (L), nearest weekday (W), with an optional day number.
_QUARTZ_DAY = re.compile(r"[0-9]*(LW|L|W)")
#: The zone names of the pinned tzdata package: the IANA database, backward links such as
#: US/Eastern and UTC included. Factory is IANA's placeholder for "zone not set", not a zone.
_TZDATA = resources.files("tzdata")
_ZONE_NAMES = frozenset(_TZDATA.joinpath("zones").read_text("utf-8").split()) - {"Factory"}
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    #: Where `*` and `a/n` end; day-of-week stops at 6 so Sunday is not listed twice.
    star_high: int
    names: tuple[str, ...] = ()
    #: Value of names[0]: 1 for JAN, 0 for SUN.
    first_name: int = 0


_FIELDS = (
    _Field("minute", 0, 59, 59),
    _Field("hour", 0, 23, 23),
    _Field("day-of-month", 1, 31, 31),
    _Field("month", 1, 12, 12, _MONTHS, first_name=1),
    _Field("day-of-week", 0, 7, 6, _WEEKDAYS),
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the values each field allows (weekdays 0-6, Sunday 0)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    #: Day fields other than `*`; when both are, a day matching either one matches.
    dom_restricted: bool
    dow_restricted: bool
    #: Fixed local times, which get the DST gap and fold rules: the hour field is neither
    #: `*` nor a step (`*/2`, `0-23/3`, `5/2`); the minute field does not matter.
    fixed_time: bool

    @cached_property
    def _hour_list(self) -> tuple[int, ...]:
        return tuple(sorted(self.hours))

    @cached_property
    def _minute_list(self) -> tuple[int, ...]:
        return tuple(sorted(self.minutes))

    def matches_day(self, day: date) -> bool:
        """In a listed month, and Vixie cron's day rule: OR when both day fields are
        restricted, AND otherwise."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = day.isoweekday() % 7 in self.weekdays
        if self.dom_restricted and self.dow_restricted:
            return in_month or in_week
        return in_month and in_week

    @property
    def per_day(self) -> int:
        """Wall-clock times a matching day holds."""
        return len(self.hours) * len(self.minutes)

    def times_from(self, hour: int, minute: int) -> Iterator[tuple[int, int]]:
        """The (hour, minute) pairs of a matching day at or after hour:minute, in order."""
        hours, minutes = self._hour_list, self._minute_list
        for h in hours[bisect_left(hours, hour) :]:
            first = minute if h == hour else 0
            for m in minutes[bisect_left(minutes, first) :]:
                yield h, m


@lru_cache(maxsize=4096)
def parse_cron(expr: str) -> CronSpec:
    """Parse a five-field expression or macro; Unprocessable names the problem."""
    text = expr.strip()
    if not text:
        raise Unprocessable("Cron expression is required")
    fields = _expand_macro(text).split()
    if len(fields) != len(_FIELDS):
        raise Unprocessable(
            f'Cron expression must have exactly 5 fields, got {len(fields)}: "{text}"'
        )
    minutes, hours, days, months, weekdays = (
        _parse_field(part, field) for part, field in zip(fields, _FIELDS, strict=True)
    )
    spec = CronSpec(
        expression=text,
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        dom_restricted=fields[2] != "*",
        dow_restricted=fields[4] != "*",
        fixed_time="*" not in fields[1] and "/" not in fields[1],
    )
    if not _can_ever_match(spec):
        raise Unprocessable(f'Cron expression never matches: "{text}"')
    return spec


def _expand_macro(text: str) -> str:
    if not text.startswith("@"):
        return text
    macro = text.lower()
    if macro in _UNSUPPORTED_MACROS:
        raise Unprocessable(f'Unsupported cron macro: "{text}"')
    if macro not in _MACROS:
        raise Unprocessable(f'Unknown cron macro: "{text}"')
    return _MACROS[macro]


def _parse_field(text: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        values.update(_parse_item(item, text, field))
    if field.high == 7 and 7 in values:  # 7 is Sunday too
        values = (values - {7}) | {0}
    return frozenset(values)


def _parse_item(item: str, text: str, field: _Field) -> range:
    for token in ("?", "#"):
        if token in item:
            raise Unprocessable(f'Unsupported token "{token}" in cron {field.name} field: "{item}"')
    if not item:
        raise Unprocessable(f'Empty list item in cron {field.name} field: "{text}"')
    base, slash, step_text = item.partition("/")
    step = _parse_step(step_text, item, field) if slash else 1
    if base == "*":
        return range(field.low, field.star_high + 1, step)
    if "-" not in base:
        start = _parse_value(base, item, field)
        return range(start, (field.star_high if slash else start) + 1, step)
    first, _, last = base.partition("-")
    start = _parse_value(first, item, field)
    end = _parse_value(last, item, field, sunday_as_seven=start > 0)
    if start > end:
        raise Unprocessable(
            f'Range start {start} is greater than end {end} in cron {field.name} field: "{item}"'
        )
    return range(start, end + 1, step)


def _parse_step(text: str, item: str, field: _Field) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        raise Unprocessable(f'Step must be a positive integer in cron {field.name} field: "{item}"')
    return int(text)


def _parse_value(token: str, item: str, field: _Field, *, sunday_as_seven: bool = False) -> int:
    """A number or a name. SUN ending a range that starts after Sunday means 7, so FRI-SUN
    is Friday to Sunday, while SUN-SUN and 0-SUN are Sunday alone."""
    upper = token.upper()
    if token.isascii() and token.isdigit():
        digits = token.lstrip("0") or "0"
        if len(digits) > 2 or not field.low <= int(digits) <= field.high:
            raise Unprocessable(
                f"Value {digits} out of range [{field.low}\u2013{field.high}] "
                f"for cron {field.name} field"
            )
        return int(digits)
    if upper in field.names:
        if sunday_as_seven and upper == "SUN":
            return 7
        return field.names.index(upper) + field.first_name
    if match := _QUARTZ_DAY.fullmatch(upper):
        raise Unprocessable(
            f'Unsupported token "{match.group(1)}" in cron {field.name} field: "{item}"'
        )
    if token.isascii() and token.isalpha():
        raise Unprocessable(f'Unknown name "{token}" in cron {field.name} field')
    raise Unprocessable(f'Invalid value "{token}" in cron {field.name} field: "{item}"')


def _can_ever_match(spec: CronSpec) -> bool:
    """False for dates no calendar has, like 31 February, so they fail at parse time."""
    if spec.dow_restricted:
        return True
    return any(day <= _LONGEST_MONTH[month - 1] for month in spec.months for day in spec.days)


@lru_cache(maxsize=len(_ZONE_NAMES))
def validate_timezone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, read from the tzdata package so that every host agrees
    whatever its /usr/share/zoneinfo holds; any other name (localtime, posixrules,
    right/UTC, paths) is a 422."""
    if name not in _ZONE_NAMES:
        raise Unprocessable(f"Invalid timezone: {name}")
    with _TZDATA.joinpath("zoneinfo", *name.split("/")).open("rb") as data:
        return ZoneInfo.from_file(data, key=name)
