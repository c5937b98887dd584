"""Recording a page of due schedule ticks in one transaction (API.md section 7).

A page is what the scheduler found due in one scan, a few hundred (trigger, due_at)
pairs. Per-tick transactions cost 17 statements and a message each; a page costs a fixed
handful whatever its size: lock the triggers (one SELECT, ascending id, shared.platform.locks
step 2), read their routines (one SELECT, no lock: recording never waits on a routine),
insert every run (one multi-row INSERT ... ON CONFLICT DO NOTHING) and move every
next_run_at (one compare-and-set UPDATE). Duplicates are decided by the unique
(trigger_id, scheduled_for) index and the compare-and-set, so a page delivered twice, or
two pages racing over the same triggers, still records one run per tick.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from shared.contract.errors import Unprocessable
from shared.models import Routine
from shared.platform.locks import lock_schedule_triggers
from shared.routines.variables import resolve
from shared.runs.recording import RunRequest, run_values
from shared.schedules.catchup import DEFAULT_CAP, DEFAULT_GRACE, TickPlan, select_ticks
from shared.schedules.tick_sql import insert_runs, move_next_runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Due:
    trigger_id: uuid.UUID
    due_at: datetime


@dataclass(frozen=True)
class Fired:
    #: Runs recorded for this tick (to be decided after commit); empty if nothing to do.
    run_ids: tuple[uuid.UUID, ...]
    missed: int = 0
    next_run_at: datetime | None = None
    #: The ticks recorded, and how many of them were stale ones caught up.
    ticks: tuple[datetime, ...] = ()
    caught_up: int = 0
    policy: str = ""


@dataclass(frozen=True)
class PageFired:
    """What one page recorded: a Fired per trigger that was still due, by trigger id."""

    fired: dict[uuid.UUID, Fired]

    @property
    def run_ids(self) -> list[uuid.UUID]:
        """Every new run, trigger by trigger, oldest tick first: the order to decide them."""
        return [run_id for fired in self.fired.values() for run_id in fired.run_ids]


#: Built once, as the lock in shared.platform.locks is; routines are read without a lock.
_ROUTINES = select(
    Routine.id, Routine.company_id, Routine.status, Routine.catch_up_policy, Routine.variables
).where(Routine.id.in_(bindparam("ids", expanding=True)))


def record_page(
    session: Session,
    *,
    page: Sequence[Due],
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
    cap: int = DEFAULT_CAP,
) -> PageFired:
    """Record the runs of every tick in the page still due (and missed ones, per each
    routine's policy), then move each next_run_at past now, all in the caller's
    transaction. A trigger whose next_run_at is no longer the page's due_at (a duplicate
    or late message), disabled, no longer a schedule, or whose routine is not active is
    left alone.

    Ticks are judged when recorded: one that waited longer than the grace, whether the
    scheduler was down or its message sat behind stopped workers, is missed like any
    other, so skip_missed never fires a stale run."""
    wanted = {(due.trigger_id, due.due_at) for due in page}
    if not wanted:
        return PageFired({})
    connection = session.connection()
    ids = sorted({trigger_id for trigger_id, _ in wanted})
    triggers = [
        row
        for row in lock_schedule_triggers(session, ids)
        if (row.id, row.next_run_at) in wanted and _firing(row)
    ]
    if not triggers:
        return PageFired({})
    routine_ids = sorted({row.routine_id for row in triggers})
    routines = {
        row.id: row
        for row in connection.execute(_ROUTINES, {"ids": routine_ids})
        if row.status == "active"
    }
    planner = _Planner(now=now, grace=grace, cap=cap)
    plans = {
        row.id: (row, routines[row.routine_id], plan)
        for row in triggers
        if row.routine_id in routines and (plan := planner.plan(row, routines[row.routine_id]))
    }
    rows = [
        tick_run_row(trigger.id, routine, tick, now)
        for trigger, routine, plan in plans.values()
        for tick in plan.fire
    ]
    inserted = {
        (trigger_id, tick): run_id for run_id, trigger_id, tick in insert_runs(connection, rows)
    }
    moves = [(t.id, t.next_run_at, plan.next_run_at) for t, _, plan in plans.values()]
    if move_next_runs(connection, moves) != len(moves):
        raise RuntimeError("next_run_at changed under the trigger locks")
    return PageFired(
        {
            trigger_id: _fired(trigger_id, routine, plan, inserted, now, grace)
            for trigger_id, (_, routine, plan) in plans.items()
        }
    )


def _firing(trigger: Row[*tuple[Any, ...]]) -> bool:
    return trigger.kind == "schedule" and trigger.enabled and trigger.cron_expression is not None


class _Planner:
    """select_ticks per trigger, memoized within the page: triggers due at one boundary
    mostly share an expression and zone, so a page walks each cron once, not per row."""

    def __init__(self, *, now: datetime, grace: timedelta, cap: int) -> None:
        self.now, self.grace, self.cap = now, grace, cap
        self._plans: dict[tuple[str, str, datetime, str], TickPlan | None] = {}

    def plan(
        self, trigger: Row[*tuple[Any, ...]], routine: Row[*tuple[Any, ...]]
    ) -> TickPlan | None:
        key = (
            trigger.cron_expression,
            trigger.timezone or "UTC",
            trigger.next_run_at,
            routine.catch_up_policy,
        )
        if key not in self._plans:
            self._plans[key] = self._select(*key)
        return self._plans[key]

    def _select(self, expr: str, tz: str, due_at: datetime, policy: str) -> TickPlan | None:
        """None for a trigger whose stored cron or zone no longer parses: it is left due
        (and logged) rather than failing the whole page."""
        try:
            return select_ticks(
                expr=expr,
                tz=tz,
                due_at=due_at,
                now=self.now,
                policy=policy,
                grace=self.grace,
                cap=self.cap,
            )
        except (Unprocessable, ValueError):
            log.warning("schedule cannot be planned", extra={"outcome": f"{expr!r} in {tz}"})
            return None


def tick_run_row(
    trigger_id: uuid.UUID, routine: Row[*tuple[Any, ...]] | Routine, tick: datetime, now: datetime
) -> dict[str, Any]:
    """Every column of a `received` schedule run (Core inserts skip the ORM's defaults).
    A tick whose required variables cannot be resolved is still recorded, carrying its
    problem, and the worker decides it `failed` under the routine lock like any run.
    Backfills (shared.schedules.backfill) record their ticks with it too."""
    try:
        values, problem = resolve(routine.variables or [], []), None
    except Unprocessable as error:
        values, problem = {}, error.message
    request = RunRequest(
        source="schedule",
        trigger_id=trigger_id,
        scheduled_for=tick,
        variables=values,
        failure_reason=problem,
    )
    return run_values(request, company_id=routine.company_id, routine_id=routine.id, now=now)


def _fired(
    trigger_id: uuid.UUID,
    routine: Row[*tuple[Any, ...]],
    plan: TickPlan,
    inserted: dict[tuple[uuid.UUID, datetime], uuid.UUID],
    now: datetime,
    grace: timedelta,
) -> Fired:
    kept = [
        (tick, inserted[trigger_id, tick]) for tick in plan.fire if (trigger_id, tick) in inserted
    ]
    return Fired(
        run_ids=tuple(run_id for _, run_id in kept),
        missed=plan.missed,
        next_run_at=plan.next_run_at,
        ticks=tuple(tick for tick, _ in kept),
        caught_up=sum(1 for tick in plan.fire if now - tick > grace),
        policy=routine.catch_up_policy,
    )
