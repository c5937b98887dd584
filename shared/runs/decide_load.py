"""Reading a batch of runs for their decisions: the locks of shared.platform.locks (routines, then
triggers) and one read per kind of fact, so a batch costs a fixed number of statements
however many runs it holds."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from shared.contract.vocabulary import LIVE_ISSUE_STATUSES, ROUTINE_EXECUTION
from shared.models import Agent, Issue, Project, Routine, RoutineRun, RoutineTrigger
from shared.platform.locks import lock_routines, lock_triggers
from shared.runs.decide_rules import (
    Facts,
    LiveIssue,
    RoutineState,
    RunState,
    TriggerState,
)

#: Most runs one transaction reads and decides: enough that a hot routine's burst is a few
#: transactions, few enough that a transaction holds its locks for a fraction of a second.
TAKE_ALONG_LIMIT = 500
#: Runs taken along are those recorded from this long before the message's oldest run on:
#: a burst, in order. Older `received` runs are stragglers whose message went astray; the
#: scheduler's sweep (30 s by default) sends them again, and each run's own message still
#: decides it. The bound also keeps the read at the recent end of the routine's
#: (routine_id, created_at) index instead of its whole history.
TAKE_ALONG_LOOKBACK = timedelta(seconds=30)

S = TypeVar("S")


@dataclass(frozen=True)
class Loaded:
    routines: dict[uuid.UUID, RoutineState]
    #: Oldest first (created_at, then scheduled_for so that the ticks one page or backfill
    #: recorded at once are decided oldest tick first, then id): the order of decisions.
    runs: list[RunState]
    triggers: dict[uuid.UUID, TriggerState]
    paused_projects: frozenset[uuid.UUID]
    agent_statuses: dict[uuid.UUID, str]
    live: dict[uuid.UUID, LiveIssue]
    #: False when the take-along limit cut the read short: some runs wait for a next round.
    complete: bool

    def received(self) -> list[RunState]:
        return [run for run in self.runs if run.status == "received"]

    def facts(self, run: RunState, routine: RoutineState) -> Facts:
        project_id = routine.project_for(run)
        assignee_id = routine.assignee_for(run)
        return Facts(
            trigger=self.triggers.get(run.trigger_id) if run.trigger_id else None,
            project_paused=project_id in self.paused_projects,
            assignee_status=self.agent_statuses.get(assignee_id) if assignee_id else None,
            live=self.live.get(routine.id),
        )


def load_batch(
    session: Session,
    run_ids: Collection[uuid.UUID],
    *,
    take_along: bool,
    limit: int = TAKE_ALONG_LIMIT,
) -> Loaded:
    """Lock the routines of `run_ids`, then read their runs: with `take_along`, every
    `received` run of those routines from shortly before the message's oldest run on
    (oldest first, at most `limit`), else just `run_ids`. Runs are read after the lock
    because a run's status only changes under it."""
    routine_ids, oldest = _routines_of(session, run_ids)
    rows = lock_routines(session, routine_ids, _columns(Routine, RoutineState))
    routines = {state.id: state for state in _states(RoutineState, rows)}
    since = oldest - TAKE_ALONG_LOOKBACK if take_along and oldest else None
    runs = _read_runs(session, run_ids, list(routines), since=since, limit=limit)
    received = [run for run in runs if run.status == "received"]
    trigger_ids = sorted({run.trigger_id for run in received if run.trigger_id})
    trigger_rows = lock_triggers(session, trigger_ids, _columns(RoutineTrigger, TriggerState))
    pairs = [(run, routines[run.routine_id]) for run in received]
    return Loaded(
        routines=routines,
        runs=runs,
        triggers={state.id: state for state in _states(TriggerState, trigger_rows)},
        paused_projects=_paused(session, _ids(r.project_for(run) for run, r in pairs)),
        agent_statuses=_agent_statuses(session, _ids(r.assignee_for(run) for run, r in pairs)),
        live=_live_issues(
            session, _ids(r.id for _, r in pairs if r.concurrency_policy != "always_enqueue")
        ),
        complete=since is None or len(runs) < limit,
    )


def _routines_of(
    session: Session, run_ids: Collection[uuid.UUID]
) -> tuple[list[uuid.UUID], datetime | None]:
    """The routines of these runs, and when the oldest of them was recorded."""
    query = select(RoutineRun.routine_id, RoutineRun.created_at).where(RoutineRun.id.in_(run_ids))
    found = session.execute(query).all()
    oldest = min((row.created_at for row in found), default=None)
    return sorted({row.routine_id for row in found}), oldest


def _read_runs(
    session: Session,
    run_ids: Collection[uuid.UUID],
    routine_ids: list[uuid.UUID],
    *,
    since: datetime | None,
    limit: int,
) -> list[RunState]:
    """With `since`, the routines' `received` runs recorded from then on (the take-along)
    and the message's own runs whatever their status, oldest first, at most `limit`;
    without, only the message's runs."""
    if not routine_ids:
        return []
    # Only runs of routines this transaction holds: a routine deleted meanwhile took its
    # runs with it, and no other routine's run may be decided without its lock.
    query = select(*_columns(RoutineRun, RunState)).where(RoutineRun.routine_id.in_(routine_ids))
    if since is not None:
        taken = (RoutineRun.status == "received") & (RoutineRun.created_at >= since)
        query = query.where(taken | RoutineRun.id.in_(run_ids)).limit(limit)
    else:
        query = query.where(RoutineRun.id.in_(run_ids))
    query = query.order_by(RoutineRun.created_at, RoutineRun.scheduled_for, RoutineRun.id)
    return _states(RunState, session.execute(query).all())


def _paused(session: Session, project_ids: list[uuid.UUID]) -> frozenset[uuid.UUID]:
    if not project_ids:
        return frozenset()
    query = select(Project.id).where(Project.id.in_(project_ids), Project.paused_at.is_not(None))
    return frozenset(session.scalars(query))


def _agent_statuses(session: Session, agent_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not agent_ids:
        return {}
    query = select(Agent.id, Agent.status).where(Agent.id.in_(agent_ids))
    return {row.id: row.status for row in session.execute(query)}


def _live_issues(session: Session, routine_ids: list[uuid.UUID]) -> dict[uuid.UUID, LiveIssue]:
    """Each routine's newest open execution issue (as shared.runs.reading.live_issues
    picks it), one query."""
    if not routine_ids:
        return {}
    newest_first = (Issue.created_at.desc(), Issue.number.desc())
    ranked = (
        select(
            Issue.id,
            Issue.origin_id,
            Issue.origin_run_id,
            func.row_number()
            .over(partition_by=Issue.origin_id, order_by=newest_first)
            .label("rank"),
        )
        .where(
            Issue.origin_kind == ROUTINE_EXECUTION,
            Issue.origin_id.in_(routine_ids),
            Issue.status.in_(LIVE_ISSUE_STATUSES),
        )
        .subquery()
    )
    query = select(ranked.c.id, ranked.c.origin_id, ranked.c.origin_run_id).where(
        ranked.c.rank == 1
    )
    return {row.origin_id: LiveIssue(row.id, row.origin_run_id) for row in session.execute(query)}


def _columns(model: type[Any], state: type[Any]) -> list[ColumnElement[Any]]:
    """The model's columns named like the state's fields, in the same order."""
    return [getattr(model, field.name) for field in fields(state)]


def _states(state: type[S], rows: Iterable[Any]) -> list[S]:
    return [state(*row) for row in rows]


def _ids(values: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
    return sorted({value for value in values if value is not None})
