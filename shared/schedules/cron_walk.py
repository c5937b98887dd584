"""The cron time walk: the fire instants of a parsed expression in a zone (API.md 4.1).

Pure functions over aware datetimes; every instant returned is in UTC. Daylight saving
follows standard cron. A job at fixed local times (any job whose hour field is neither `*`
nor a step) fires at each matching wall time once: at the first instant after a
spring-forward gap that swallowed it, and at the first occurrence of a repeated hour. A
job whose hour is `*` or a step fires at every real instant whose local wall-clock time
matches, so twice in a repeated hour and never in a gap.

Offsets and transitions are taken to be whole minutes, as they are everywhere since 1972.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.contract.errors import Unprocessable
from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone

SEARCH_HORIZON = timedelta(days=366 * 9)
#: Offsets are sampled this often to find DST transitions; no zone changes twice within it.
_PROBE = timedelta(hours=6)
#: No offset has ever changed by this much, so older transitions cannot have shown a later wall.
_LARGEST_SHIFT = timedelta(days=2)
_SECOND = timedelta(seconds=1)
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)


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
