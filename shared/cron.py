"""Five-field cron: parse it, check a time zone, and find fire instants (API.md 4.1).

Pure functions over aware datetimes; every instant returned is in UTC. Daylight saving
follows standard cron. A job at fixed local times (any job whose hour field is neither `*`
nor a step) fires at each matching wall time once: at the first instant after a
spring-forward gap that swallowed it, and at the first occurrence of a repeated hour. A
job whose hour is `*` or a step fires at every real instant whose local wall-clock time
matches, so twice in a repeated hour and never in a gap.

Offsets and transitions are taken to be whole minutes, as they are everywhere since 1972.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

from shared.errors import Unprocessable

#: How far ahead a search looks: longer than the 8 years between 29 Februaries around 2100.
SEARCH_HORIZON = timedelta(days=366 * 9)
#: Offsets are sampled this often to find DST transitions; no zone changes twice within it.
_PROBE = timedelta(hours=6)
#: No offset has ever changed by this much, so older transitions cannot have shown a later wall.
_LARGEST_SHIFT = timedelta(days=2)
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)

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


def next_fire_after(expr: str | CronSpec, tz: str | ZoneInfo, after: datetime) -> datetime:
    """The first fire instant strictly after `after`, in UTC."""
    spec, zone = _resolve(expr, tz)
    start = _as_utc(after)
    horizon = start + SEARCH_HORIZON
    found = next(_ticks(spec, zone, start, horizon), None)
    if found is None:
        raise Unprocessable(f'Cron expression never matches: "{spec.expression}"')
    return found


def ticks_between(
    expr: str | CronSpec, tz: str | ZoneInfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """Successive fire instants in (after, until], in UTC; input is checked at once."""
    spec, zone = _resolve(expr, tz)
    return _ticks(spec, zone, _as_utc(after), _as_utc(until))


def count_ticks(expr: str | CronSpec, tz: str | ZoneInfo, after: datetime, until: datetime) -> int:
    """How many ticks (after, until] holds, without visiting each of them: in each stretch
    of one UTC offset, whole days are counted at once, which keeps years of an
    every-minute job to milliseconds."""
    spec, zone = _resolve(expr, tz)
    return sum(
        at_begin + _count_walls(spec, first, limit)
        for _, _, at_begin, first, limit in _stretches(spec, zone, _as_utc(after), _as_utc(until))
    )


def _resolve(expr: str | CronSpec, tz: str | ZoneInfo) -> tuple[CronSpec, ZoneInfo]:
    spec = expr if isinstance(expr, CronSpec) else parse_cron(expr)
    return spec, tz if isinstance(tz, ZoneInfo) else validate_timezone(tz)


def _as_utc(instant: datetime) -> datetime:
    if instant.utcoffset() is None:
        raise ValueError(f"An aware datetime is required, got {instant!r}")
    return instant.astimezone(UTC)


def _ticks(spec: CronSpec, zone: ZoneInfo, after: datetime, until: datetime) -> Iterator[datetime]:
    for begin, offset, at_begin, first, limit in _stretches(spec, zone, after, until):
        if at_begin:
            yield begin
        for wall in _walls(spec, first, limit):
            yield wall - offset


def _stretches(
    spec: CronSpec, zone: ZoneInfo, after: datetime, until: datetime
) -> Iterator[tuple[datetime, timedelta, bool, datetime, datetime]]:
    """Split (after, until] into stretches of one UTC offset, and say which walls fire in
    each: (begin, offset, at_begin, first, limit).

    Within a stretch local time is UTC shifted by the offset, so the walls [first, limit)
    fire at wall - offset, one to one; walls are carried as UTC datetimes shifted by the
    offset, to avoid conversions. An elapsed job fires at every wall a stretch shows. A
    fixed-time job fires at a wall the first time the clock reaches or passes it: walls
    the clock has already shown (a repeated hour) are left out, and if a spring-forward
    gap jumped over matching walls, at_begin says they fire once, at `begin`.
    """
    start, stop = _minute_bounds(after, until)
    # For a fixed-time job, the latest wall the clock has shown; None: the one at `start`.
    reached = _wall_reached(zone, start) if spec.fixed_time else None
    for begin, end, offset in _constant_offsets(zone, start, stop):
        first, limit, at_begin = begin + offset, end + offset, False
        if spec.fixed_time:
            reached = first if reached is None else reached
            if reached < first:  # a gap: its walls and `first` itself all fire at `begin`
                at_begin = next(_walls(spec, reached, first + _MINUTE), None) is not None
                first += _MINUTE
            else:  # walls before `reached` were shown already (a repeated hour's first pass)
                first = reached
            reached = max(reached, limit)
        yield begin, offset, at_begin, first, limit


def _wall_reached(zone: ZoneInfo, instant: datetime) -> datetime | None:
    """The latest wall time the clock showed before `instant` (as a shifted UTC datetime),
    if an offset change in the last two days can make it other than the wall time at
    `instant`: a change at `instant` itself, or a repeated hour in its second pass.
    None otherwise, which is the common case and costs no conversion."""
    changes = (*_transitions(zone, instant.year - 1), *_transitions(zone, instant.year))
    recent = [change for change in changes if instant - _LARGEST_SHIFT < change <= instant]
    if not recent:
        return None
    return max(moment + _offset(zone, moment - _SECOND) for moment in (*recent, instant))


def _minute_bounds(after: datetime, until: datetime) -> tuple[datetime, datetime]:
    """[start, stop) holding the same whole minutes as (after, until]."""
    return _floor_minute(after) + _MINUTE, _floor_minute(until) + _MINUTE


def _count_walls(spec: CronSpec, start: datetime, limit: datetime) -> int:
    """Matching walls in [start, limit): the ragged ends one by one, whole days by product."""
    first = _floor_day(start) if start == _floor_day(start) else _floor_day(start) + _DAY
    last = _floor_day(limit)
    if first >= last:
        return sum(1 for _ in _walls(spec, start, limit))
    whole_days = sum(1 for _ in _days(spec, first.date(), last.date()))
    ends = _walls(spec, start, first), _walls(spec, last, limit)
    return whole_days * spec.per_day + sum(1 for walls in ends for _ in walls)


def _days(spec: CronSpec, day: date, end: date) -> Iterator[date]:
    """Matching days in [day, end)."""
    while day < end:
        if spec.matches_day(day):
            yield day
        day = _next_day_in_months(spec, day)


def _walls(spec: CronSpec, start: datetime, limit: datetime) -> Iterator[datetime]:
    """Matching wall-clock minutes in [start, limit), skipping whole days and months.

    `start` and `limit` share one tzinfo, so comparisons are on wall fields alone.
    """
    if start.second or start.microsecond:
        start = _floor_minute(start) + _MINUTE
    for day in _days(spec, start.date(), limit.date() + _DAY):
        first = (start.hour, start.minute) if day == start.date() else (0, 0)
        for h, m in spec.times_from(*first):
            wall = datetime.combine(day, time(h, m), start.tzinfo)
            if wall >= limit:
                return
            yield wall


def _next_day_in_months(spec: CronSpec, day: date) -> date:
    following = day + _DAY
    while following.month not in spec.months:
        following = (following.replace(day=1) + timedelta(days=32)).replace(day=1)
    return following


def _constant_offsets(
    zone: ZoneInfo, start: datetime, stop: datetime
) -> Iterator[tuple[datetime, datetime, timedelta]]:
    """Split [start, stop) into stretches of one UTC offset: (begin, end, offset)."""
    begin = start
    while begin < stop:
        end = min(_next_boundary(zone, begin), stop)
        yield begin, end, _offset(zone, begin)
        begin = end


def _next_boundary(zone: ZoneInfo, instant: datetime) -> datetime:
    """The next transition after `instant`, or a new year at most two years on."""
    boundaries = _boundaries(zone, instant.year)
    return boundaries[bisect_right(boundaries, instant)]


@lru_cache(maxsize=4096)
def _boundaries(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The transitions of `year` and the next, then 1 January of the year after."""
    following = datetime(year + 2, 1, 1, tzinfo=UTC)
    return (*_transitions(zone, year), *_transitions(zone, year + 1), following)


@lru_cache(maxsize=4096)
def _transitions(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """UTC instants in `year` where the zone's offset changes (zoneinfo does not list them)."""
    changes: list[datetime] = []
    probe, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    current = _offset(zone, probe)
    while probe < end:
        following = probe + _PROBE
        if (upcoming := _offset(zone, following)) != current:
            changes.append(_first_change(zone, probe, following))
        probe, current = following, upcoming
    return tuple(changes)


def _first_change(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """Bisect to the whole second where the offset at `low` stops applying (<= high)."""
    before = _offset(zone, low)
    low_s, high_s = 0, int((high - low).total_seconds())
    while high_s - low_s > 1:
        middle = (low_s + high_s) // 2
        if _offset(zone, low + timedelta(seconds=middle)) == before:
            low_s = middle
        else:
            high_s = middle
    return low + timedelta(seconds=high_s)


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _floor_day(instant: datetime) -> datetime:
    return instant.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)


def _floor_minute(instant: datetime) -> datetime:
    return instant - timedelta(seconds=instant.second, microseconds=instant.microsecond)
