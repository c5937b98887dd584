"""Finding runs that were recorded but never decided (broker down, worker killed)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.models import RoutineRun


def undecided_runs(session: Session, *, recorded_before: datetime, limit: int) -> list[uuid.UUID]:
    """Oldest first, through the partial index on `received` runs."""
    return list(
        session.scalars(
            select(RoutineRun.id)
            .where(RoutineRun.status == "received", RoutineRun.created_at < recorded_before)
            .order_by(RoutineRun.created_at)
            .limit(limit)
        )
    )
