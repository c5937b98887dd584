"""Catch-up policy (API.md section 7): late ticks fire, missed ones are skipped or capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.schedules.catchup import (
    DEFAULT_CAP,
    DEFAULT_GRACE,
    ENQUEUE_MISSED_WITH_CAP,
    SKIP_MISSED,
    TickPlan,
    select_ticks,
)
from shared.schedules.cron_walk import ticks_between

POLICIES = [SKIP_MISSED, ENQUEUE_MISSED_WITH_CAP]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def plan(
    expr: str,
    due_at: datetime,
    now: datetime,
    policy: str,
    *,
    tz: str = "UTC",
    grace: timedelta = DEFAULT_GRACE,
    cap: int = DEFAULT_CAP,
) -> TickPlan:
    return select_ticks(
        expr=expr, tz=tz, due_at=due_at, now=now, policy=policy, grace=grace, cap=cap
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_a_tick_due_now_is_fired(policy: str) -> None:
    due = utc(2026, 5, 4, 10)
    assert plan("0 * * * *", due, due, policy) == TickPlan(
        fire=(due,), missed=0, next_run_at=utc(2026, 5, 4, 11)
    )


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize(
    "late", [timedelta(seconds=1), timedelta(seconds=45), timedelta(seconds=60)]
)
def test_a_tick_late_within_the_grace_is_fired_not_missed(policy: str, late: timedelta) -> None:
    due = utc(2026, 5, 4, 10)
    assert plan("0 * * * *", due, due + late, policy) == TickPlan(
        fire=(due,), missed=0, next_run_at=utc(2026, 5, 4, 11)
    )


def test_the_grace_is_configurable() -> None:
    due = utc(2026, 5, 4, 10)
    now = due + timedelta(minutes=5)
    relaxed = plan("0 * * * *", due, now, SKIP_MISSED, grace=timedelta(minutes=10))
    assert relaxed.fire == (due,)
    assert plan("0 * * * *", due, now, SKIP_MISSED).fire == ()


def test_one_missed_tick_is_dropped_by_skip_missed() -> None:
    due = utc(2026, 5, 4, 10)
    now = due + timedelta(seconds=61)
    assert plan("0 * * * *", due, now, SKIP_MISSED) == TickPlan(
        fire=(), missed=1, next_run_at=utc(2026, 5, 4, 11)
    )


def test_one_missed_tick_is_fired_by_enqueue_missed_with_cap() -> None:
    due = utc(2026, 5, 4, 10)
    now = due + timedelta(seconds=61)
    assert plan("0 * * * *", due, now, ENQUEUE_MISSED_WITH_CAP) == TickPlan(
        fire=(due,), missed=0, next_run_at=utc(2026, 5, 4, 11)
    )


def test_three_missed_hourly_ticks_are_all_dropped_by_skip_missed() -> None:
    assert plan("0 * * * *", utc(2026, 5, 4, 10), utc(2026, 5, 4, 12, 30), SKIP_MISSED) == (
        TickPlan(fire=(), missed=3, next_run_at=utc(2026, 5, 4, 13))
    )


def test_three_missed_hourly_ticks_are_all_fired_oldest_first_under_the_cap() -> None:
    result = plan(
        "0 * * * *", utc(2026, 5, 4, 10), utc(2026, 5, 4, 12, 30), ENQUEUE_MISSED_WITH_CAP
    )
    assert result == TickPlan(
        fire=(utc(2026, 5, 4, 10), utc(2026, 5, 4, 11), utc(2026, 5, 4, 12)),
        missed=0,
        next_run_at=utc(2026, 5, 4, 13),
    )


def test_thirty_days_of_a_daily_job_fire_the_25_newest_oldest_first() -> None:
    now = utc(2026, 4, 30, 12)
    result = plan("0 9 * * *", utc(2026, 4, 1, 9), now, ENQUEUE_MISSED_WITH_CAP)
    assert result.fire == tuple(utc(2026, 4, day, 9) for day in range(6, 31))
    assert result.missed == 5
    assert result.next_run_at == utc(2026, 5, 1, 9)
    assert result.next_run_at > now


def test_thirty_days_of_a_daily_job_are_all_missed_under_skip_missed() -> None:
    result = plan("0 9 * * *", utc(2026, 4, 1, 9), utc(2026, 4, 30, 12), SKIP_MISSED)
    assert result == TickPlan(fire=(), missed=30, next_run_at=utc(2026, 5, 1, 9))


def test_the_cap_is_configurable() -> None:
    result = plan(
        "0 9 * * *", utc(2026, 4, 1, 9), utc(2026, 4, 30, 12), ENQUEUE_MISSED_WITH_CAP, cap=2
    )
    assert result.fire == (utc(2026, 4, 29, 9), utc(2026, 4, 30, 9))
    assert result.missed == 28


# Every minute, down from 10:00 to 12:00:30: 121 ticks, 10:00 to 12:00. Only 12:00 is
# within the 60-second grace; the 120 from 10:00 to 11:59 are missed.
OUTAGE_DUE, OUTAGE_NOW = utc(2026, 5, 4, 10), utc(2026, 5, 4, 12, 0, 30)


def test_after_a_two_hour_outage_skip_missed_fires_only_the_tick_within_grace() -> None:
    assert plan("* * * * *", OUTAGE_DUE, OUTAGE_NOW, SKIP_MISSED) == TickPlan(
        fire=(utc(2026, 5, 4, 12),), missed=120, next_run_at=utc(2026, 5, 4, 12, 1)
    )


def test_after_a_two_hour_outage_enqueue_fires_the_25_newest_missed_and_the_late_one() -> None:
    result = plan("* * * * *", OUTAGE_DUE, OUTAGE_NOW, ENQUEUE_MISSED_WITH_CAP)
    newest_missed = tuple(utc(2026, 5, 4, 11, minute) for minute in range(35, 60))
    assert result == TickPlan(
        fire=(*newest_missed, utc(2026, 5, 4, 12)),
        missed=120 - 25,
        next_run_at=utc(2026, 5, 4, 12, 1),
    )


def test_thirty_days_of_an_every_minute_job_are_counted_exactly() -> None:
    due, now = utc(2026, 4, 1, 12), utc(2026, 5, 1, 12, 0, 30)
    result = plan("* * * * *", due, now, ENQUEUE_MISSED_WITH_CAP)
    stale = 30 * 24 * 60  # 12:00 on 1 April up to 11:59 on 1 May; 12:00 is within grace
    assert result.missed == stale - 25
    assert result.fire[0] == utc(2026, 5, 1, 11, 35)
    assert result.fire[-1] == utc(2026, 5, 1, 12)
    assert len(result.fire) == 26


def test_a_dst_gap_day_in_new_york_keeps_its_tick_at_the_end_of_the_gap() -> None:
    # 02:30 does not exist on 8 March 2026 in New York: that day's tick is 03:00 EDT.
    due, now = utc(2026, 3, 7, 7, 30), utc(2026, 3, 9, 12)
    result = plan("30 2 * * *", due, now, ENQUEUE_MISSED_WITH_CAP, tz="America/New_York")
    assert result == TickPlan(
        fire=(utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30)),
        missed=0,
        next_run_at=utc(2026, 3, 10, 6, 30),
    )
    skipped = plan("30 2 * * *", due, now, SKIP_MISSED, tz="America/New_York")
    assert skipped == TickPlan(fire=(), missed=3, next_run_at=utc(2026, 3, 10, 6, 30))


def test_two_wall_times_in_a_dst_gap_are_one_tick_at_its_end_when_caught_up() -> None:
    # 02:00 and 02:30 do not exist on 8 March 2026 in New York: both are 03:00 EDT, once.
    due, now = utc(2026, 3, 7, 7), utc(2026, 3, 9, 12)
    result = plan("0,30 2 * * *", due, now, ENQUEUE_MISSED_WITH_CAP, tz="America/New_York")
    assert result == TickPlan(
        fire=(
            *(utc(2026, 3, 7, 7), utc(2026, 3, 7, 7, 30)),
            utc(2026, 3, 8, 7),
            *(utc(2026, 3, 9, 6), utc(2026, 3, 9, 6, 30)),
        ),
        missed=0,
        next_run_at=utc(2026, 3, 10, 6),
    )
    skipped = plan("0,30 2 * * *", due, now, SKIP_MISSED, tz="America/New_York")
    assert skipped == TickPlan(fire=(), missed=5, next_run_at=utc(2026, 3, 10, 6))


def test_a_fall_back_outage_fires_a_list_of_hours_at_the_first_0130_only() -> None:
    due, now = utc(2026, 10, 31, 17, 30), utc(2026, 11, 2, 12)
    result = plan("30 1,13 * * *", due, now, ENQUEUE_MISSED_WITH_CAP, tz="America/New_York")
    assert result == TickPlan(
        fire=(
            utc(2026, 10, 31, 17, 30),
            *(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 18, 30)),
            utc(2026, 11, 2, 6, 30),
        ),
        missed=0,
        next_run_at=utc(2026, 11, 2, 18, 30),
    )


def test_a_fall_back_outage_replays_both_real_hours_of_an_hourly_job() -> None:
    due, now = utc(2026, 10, 24, 23), utc(2026, 10, 25, 3, 30)
    result = plan("0 * * * *", due, now, ENQUEUE_MISSED_WITH_CAP, tz="Europe/Amsterdam")
    assert result.fire == tuple(
        utc(2026, 10, 24, 23) + hour * timedelta(hours=1) for hour in range(5)
    )
    assert result.next_run_at == utc(2026, 10, 25, 4)


def test_a_due_at_left_over_from_an_older_cron_still_counts_as_a_tick() -> None:
    result = plan("0 9 * * *", utc(2026, 5, 4, 8, 17), utc(2026, 5, 4, 10), ENQUEUE_MISSED_WITH_CAP)
    assert result.fire == (utc(2026, 5, 4, 8, 17), utc(2026, 5, 4, 9))


def test_a_due_at_in_the_future_plans_nothing() -> None:
    due = utc(2026, 5, 4, 11)
    assert plan("0 * * * *", due, utc(2026, 5, 4, 10, 30), SKIP_MISSED) == TickPlan(
        fire=(), missed=0, next_run_at=due
    )


def test_an_unknown_policy_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown catch-up policy: fire_all"):
        plan("0 * * * *", utc(2026, 5, 4, 10), utc(2026, 5, 4, 10), "fire_all")


@settings(max_examples=200, deadline=None)
@given(
    expr=st.sampled_from(
        [
            "* * * * *",
            "*/7 * * * *",
            "0 * * * *",
            "30 2 * * *",
            "0 9 * * 1-5",
            "0,30 2 * * *",
            "30 1-2 * * *",
            "*/20 1,2 * * *",
        ]
    ),
    tz=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe"]),
    policy=st.sampled_from(POLICIES),
    start=st.datetimes(
        min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
    ),
    down=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    cap=st.integers(0, 30),
)
def test_every_tick_in_play_is_either_fired_or_counted_missed(
    expr: str, tz: str, policy: str, start: datetime, down: timedelta, cap: int
) -> None:
    due = next(iter(ticks_between(expr, tz, start, start + timedelta(days=30))))
    now = due + down
    in_play = [due, *ticks_between(expr, tz, due, now)]
    result = plan(expr, due, now, policy, tz=tz, cap=cap)
    late = [tick for tick in in_play if now - tick <= timedelta(seconds=60)]
    stale = in_play[: len(in_play) - len(late)]
    kept = stale[max(0, len(stale) - cap) :] if policy == ENQUEUE_MISSED_WITH_CAP else []
    assert result.fire == (*kept, *late)
    assert result.missed == len(stale) - len(kept)
    assert result.next_run_at > now
    assert result.next_run_at == next(iter(ticks_between(expr, tz, now, now + timedelta(days=30))))
