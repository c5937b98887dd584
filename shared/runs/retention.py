"""Run history retention: runs past their retention are deleted a small batch at a time,
never one that something still needs.

A run stays, whatever its age, while it is
- still `received` (the sweep has yet to see it decided),
- the newest of its routine (the routine list's `lastRun`; runs recorded at the same
  instant all count as newest),
- linked to an issue that is still live (its execution issue, or the one it coalesced
  into: issue status changes follow the run that created the issue),
- the run another run coalesced into, or the original another run replays.
Idempotency keys, schedule ticks and signatures are remembered as long as their run is
kept: retention is at least a day, longer than any replay window (at most 86,400 s).
Issues and the activity log are not runs and are never deleted here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session, aliased

from shared.contract.vocabulary import LIVE_ISSUE_STATUSES
from shared.models import Issue, RoutineRun


def delete_expired_runs(session: Session, *, recorded_before: datetime, limit: int) -> int:
    """Delete up to `limit` expired runs, oldest first, skipping rows another transaction
    holds (so a fire or a decision never waits for it); the number deleted."""
    other = aliased(RoutineRun)
    newer = exists().where(
        other.routine_id == RoutineRun.routine_id, other.created_at > RoutineRun.created_at
    )
    live_issue = exists().where(
        Issue.id == RoutineRun.linked_issue_id, Issue.status.in_(LIVE_ISSUE_STATUSES)
    )
    coalesced_into = exists().where(other.coalesced_into_run_id == RoutineRun.id)
    replayed = exists().where(other.replay_of_run_id == RoutineRun.id)
    expired = (
        select(RoutineRun.id)
        .where(
            RoutineRun.created_at < recorded_before,
            RoutineRun.status != "received",
            newer,
            ~live_issue,
            ~coalesced_into,
            ~replayed,
        )
        .order_by(RoutineRun.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=RoutineRun)
    )
    deleted: int = (
        session.connection().execute(delete(RoutineRun).where(RoutineRun.id.in_(expired))).rowcount
    )
    return deleted
