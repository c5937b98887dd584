"""Run history retention: runs past their retention are deleted a small batch at a time,
never one that something still needs.

A run stays, whatever its age, while it is
- still `received` (the sweep has yet to see it decided),
- the newest of its routine (the routine list's `lastRun`),
- linked to an issue that is still live (its execution issue, or the one it coalesced
  into: issue status changes follow the run that created the issue),
- the run another run coalesced into, or the original another run replays.
Idempotency keys, schedule ticks and signatures are remembered as long as their run is
kept: retention is at least a day, longer than any replay window (at most 86,400 s).
Issues and the activity log are not runs and are never deleted here.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, delete, select, text
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.selectable import ScalarSelect

from shared.contract.vocabulary import LIVE_ISSUE_STATUSES
from shared.models import Issue, RoutineRun
from shared.runs.reading import newest_first


def delete_expired_runs(session: Session, *, recorded_before: datetime, limit: int) -> int:
    """Delete up to `limit` expired runs, oldest first, skipping rows another transaction
    holds (so a fire or a decision never waits for it); the number deleted.

    Every rule is a correlated scalar subquery, which PostgreSQL runs per candidate on an
    index rather than turning it into a join over every run; the batch's ids are read
    first and deleted with the same time bound, so no plan depends on guessing the
    batch's size."""
    other = aliased(RoutineRun)
    newest = _first(
        select(other.id)
        .where(other.routine_id == RoutineRun.routine_id)
        .order_by(*newest_first(other))
    )
    live_issue = _first(
        select(Issue.id).where(
            Issue.id == RoutineRun.linked_issue_id, Issue.status.in_(LIVE_ISSUE_STATUSES)
        )
    )
    coalesced_into = _first(select(other.id).where(other.coalesced_into_run_id == RoutineRun.id))
    replayed = _first(select(other.id).where(other.replay_of_run_id == RoutineRun.id))
    expired = (
        select(RoutineRun.id)
        .where(
            RoutineRun.created_at < recorded_before,
            RoutineRun.status != "received",
            RoutineRun.id != newest,
            live_issue.is_(None),
            coalesced_into.is_(None),
            replayed.is_(None),
        )
        .order_by(RoutineRun.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=RoutineRun)
    )
    if session.get_bind().dialect.name == "postgresql":
        # The planner prices the per-candidate rules as if each read a routine's history,
        # which crosses jit_above_cost over a large table: compiling costs ~0.3 s a batch.
        session.execute(text("SET LOCAL jit = off"))
    ids = list(session.scalars(expired))
    if not ids:
        return 0
    session.execute(
        delete(RoutineRun)
        .where(RoutineRun.id.in_(ids), RoutineRun.created_at < recorded_before)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def _first(query: Select[uuid.UUID]) -> ScalarSelect[uuid.UUID]:
    """The first row's id or NULL: a subquery PostgreSQL keeps per row, never a join."""
    return query.limit(1).scalar_subquery()
