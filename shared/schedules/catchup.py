"""Catch-up after downtime (API.md section 7): which overdue ticks of a schedule to fire.

A tick at most `grace` old is simply late and always fired. Older ones are missed:
`skip_missed` drops them all; `enqueue_missed_with_cap` fires the newest `cap` of them,
for the whole outage. Pure: the caller passes the trigger's due tick and the time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from zoneinfo import ZoneInfo

from shared.contract.vocabulary import CATCH_UP_POLICIES
from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone
from shared.schedules.cron_walk import count_ticks, next_fire_after, ticks_between

SKIP_MISSED = "skip_missed"
ENQUEUE_MISSED_WITH_CAP = "enqueue_missed_with_cap"
#: A tick this old or younger is late, not missed.
DEFAULT_GRACE = timedelta(seconds=60)
#: Most missed ticks fired for one outage.
DEFAULT_CAP = 25
#: First look-back when searching for the newest missed ticks; it grows eightfold.
_FIRST_WINDOW = timedelta(hours=1)
#: The smallest step between instants: "before t" is "at or before t - _INSTANT".
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class TickPlan:
    """Ticks to fire (oldest first), how many were dropped, and where the schedule resumes."""

    fire: tuple[datetime, ...]
    missed: int
    next_run_at: datetime


def select_ticks(
    *,
    expr: str,
    tz: str,
    due_at: datetime,
    now: datetime,
    policy: str,
    grace: timedelta = DEFAULT_GRACE,
    cap: int = DEFAULT_CAP,
) -> TickPlan:
    """Plan the ticks in play, due_at (the stored next_run_at) and every tick up to now.

    Nothing is enumerated for the whole outage: missed ticks are counted a day at a time
    (`count_ticks`, exact for any outage) and only the newest `cap` are listed, found by
    looking back from the grace boundary, so 30 days of an every-minute job cost
    milliseconds. A due_at still in the future plans nothing and keeps it.
    """
    if policy not in CATCH_UP_POLICIES:
        raise ValueError(f"Unknown catch-up policy: {policy}")
    spec, zone = parse_cron(expr), validate_timezone(tz)
    due_at, now = due_at.astimezone(UTC), now.astimezone(UTC)
    if due_at > now:
        return TickPlan(fire=(), missed=0, next_run_at=due_at)
    boundary = now - grace  # ticks before it are missed
    late = tuple(_in_play(spec, zone, due_at, boundary, now))
    missed = _count_in_play(spec, zone, due_at, boundary - _INSTANT)
    keep = min(cap, missed) if policy == ENQUEUE_MISSED_WITH_CAP else 0
    recovered = _newest(spec, zone, due_at, boundary - _INSTANT, keep) if keep else ()
    return TickPlan(
        fire=recovered + late,
        missed=missed - len(recovered),
        next_run_at=next_fire_after(spec, zone, now),
    )


def _in_play(
    spec: CronSpec, zone: ZoneInfo, due_at: datetime, first: datetime, last: datetime
) -> Iterator[datetime]:
    """Ticks in play within [first, last]; due_at is one even if the cron changed since."""
    if first > due_at:
        return ticks_between(spec, zone, first - _INSTANT, last)
    if due_at > last:
        return iter(())
    return chain((due_at,), ticks_between(spec, zone, due_at, last))


def _count_in_play(spec: CronSpec, zone: ZoneInfo, due_at: datetime, last: datetime) -> int:
    """Ticks in play up to `last`, counted without listing them."""
    return 1 + count_ticks(spec, zone, due_at, last) if due_at <= last else 0


def _newest(
    spec: CronSpec, zone: ZoneInfo, due_at: datetime, last: datetime, keep: int
) -> tuple[datetime, ...]:
    """The newest `keep` ticks in play up to `last`, oldest first, looking back from
    `last` through a window that widens until it holds enough or reaches due_at."""
    window = _FIRST_WINDOW
    while last - window > due_at:
        newest = deque(ticks_between(spec, zone, last - window, last), maxlen=keep)
        if len(newest) == keep:
            return tuple(newest)
        window *= 8
    return tuple(deque(_in_play(spec, zone, due_at, due_at, last), maxlen=keep))
