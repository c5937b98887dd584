"""next_fire_after across the 2026 DST transitions against a minute-by-minute reading
of API.md 4.1."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone
from shared.schedules.cron_walk import next_fire_after
from tests.support.cron import SHIFTS, Shift, cron_field, expressions, parses


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
