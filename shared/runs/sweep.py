"""Finding runs that were recorded but never decided (broker down, worker killed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shared.models import RoutineRun


@dataclass(frozen=True)
class Undecided:
    run_id: uuid.UUID
    created_at: datetime


def undecided_runs(
    session: Session,
    *,
    recorded_before: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> list[Undecided]:
    """Oldest first, one keyset page after `after`, through the partial index on
    `received` runs; the caller walks the pages so that runs stuck at the front never
    hide newer lost ones."""
    query = (
        select(RoutineRun.id, RoutineRun.created_at)
        .where(RoutineRun.status == "received", RoutineRun.created_at < recorded_before)
        .order_by(RoutineRun.created_at, RoutineRun.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(RoutineRun.created_at, RoutineRun.id) > after)
    return [Undecided(row.id, row.created_at) for row in session.execute(query)]
