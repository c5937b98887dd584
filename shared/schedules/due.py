"""Schedule firing (API.md section 7): the due scan, and recording one tick (a page of one,
see shared.schedules.page)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shared.models import Routine, RoutineTrigger
from shared.schedules.page import Due, Fired, PageFired, record_page

__all__ = ["Due", "Fired", "PageFired", "due_triggers", "fire_schedule", "record_page"]

#: Ticks older than this when fired are "missed" and follow the catch-up policy.
DEFAULT_GRACE = timedelta(seconds=60)
#: Most missed ticks one outage may enqueue under enqueue_missed_with_cap.
CATCH_UP_CAP = 25


def due_triggers(
    session: Session,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Due]:
    """Enabled schedule triggers of active routines whose tick has come, oldest first,
    one keyset page after `after`; served by the partial index on next_run_at."""
    query = (
        select(RoutineTrigger.id, RoutineTrigger.next_run_at)
        .join(Routine, Routine.id == RoutineTrigger.routine_id)
        .where(
            RoutineTrigger.kind == "schedule",
            # Spelled as the partial index's predicate ("enabled", not "enabled IS true")
            # so that PostgreSQL uses it: 0.6 ms instead of a 150 ms sequential scan.
            RoutineTrigger.enabled,
            RoutineTrigger.next_run_at <= now,
            Routine.status == "active",
        )
        .order_by(RoutineTrigger.next_run_at, RoutineTrigger.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(RoutineTrigger.next_run_at, RoutineTrigger.id) > after)
    rows = session.execute(query)
    return [Due(row.id, row.next_run_at) for row in rows]


def fire_schedule(
    session: Session,
    *,
    trigger_id: uuid.UUID,
    due_at: datetime,
    now: datetime,
    grace: timedelta = DEFAULT_GRACE,
    cap: int = CATCH_UP_CAP,
) -> Fired:
    """Record the runs of one due tick (and any missed ones, per policy), then move
    next_run_at past now: a page of one, so a single tick and a page follow one rule.
    A duplicate or late message finds next_run_at already moved and does nothing."""
    page = record_page(session, page=[Due(trigger_id, due_at)], now=now, grace=grace, cap=cap)
    return page.fired.get(trigger_id, Fired(()))
