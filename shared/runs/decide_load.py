"""Reading a batch of runs for their decisions: the locks of shared.platform.locks (routines, then
triggers) and one read per kind of fact, so a batch costs a fixed number of statements
however many runs it holds."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    Uuid,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from shared.contract.vocabulary import LIVE_ISSUE_STATUSES, ROUTINE_EXECUTION
from shared.models import Agent, Issue, Project, Routine, RoutineRun, RoutineTrigger
from shared.platform.locks import lock_routines, lock_triggers
from shared.platform.members import Member, PerDialect
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
    # Core statements on the session's connection: rows of columns, no ORM objects. They
    # skip the ORM's autoflush, so whatever the caller added is written first, as
    # Session.execute would have.
    session.flush()
    connection = session.connection()
    run_ids = list(run_ids)
    routine_ids, oldest = _routines_of(connection, run_ids)
    rows = lock_routines(session, routine_ids, _ROUTINE_COLUMNS, prepared=True)
    routines = {state.id: state for state in _states(RoutineState, rows)}
    since = oldest - TAKE_ALONG_LOOKBACK if take_along and oldest else None
    runs = _read_runs(connection, run_ids, list(routines), since=since, limit=limit)
    received = [run for run in runs if run.status == "received"]
    trigger_ids = sorted({run.trigger_id for run in received if run.trigger_id})
    trigger_rows = lock_triggers(session, trigger_ids, _TRIGGER_COLUMNS, prepared=True)
    pairs = [(run, routines[run.routine_id]) for run in received]
    paused, statuses, live = _facts(
        connection,
        project_ids=_ids(r.project_for(run) for run, r in pairs),
        agent_ids=_ids(r.assignee_for(run) for run, r in pairs),
        routine_ids=_ids(r.id for _, r in pairs if r.concurrency_policy != "always_enqueue"),
    )
    return Loaded(
        routines=routines,
        runs=runs,
        triggers={state.id: state for state in _states(TriggerState, trigger_rows)},
        paused_projects=paused,
        agent_statuses=statuses,
        live=live,
        complete=since is None or len(runs) < limit,
    )


def _routines_of(
    connection: Connection, run_ids: list[uuid.UUID]
) -> tuple[list[uuid.UUID], datetime | None]:
    """The routines of these runs, and when the oldest of them was recorded."""
    found = _ROUTINES_OF.execute(connection, {"run_ids": run_ids}).all()
    oldest = min((row.created_at for row in found), default=None)
    return sorted({row.routine_id for row in found}), oldest


def _read_runs(
    connection: Connection,
    run_ids: list[uuid.UUID],
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
    params: dict[str, Any] = {"run_ids": run_ids, "routine_ids": routine_ids}
    if since is None:
        return _states(RunState, _OWN_RUNS.execute(connection, params).all())
    params |= {"since": since, "limit": limit}
    return _states(RunState, _TAKEN_RUNS.execute(connection, params).all())


def _facts(
    connection: Connection,
    *,
    project_ids: list[uuid.UUID],
    agent_ids: list[uuid.UUID],
    routine_ids: list[uuid.UUID],
) -> tuple[frozenset[uuid.UUID], dict[uuid.UUID, str], dict[uuid.UUID, LiveIssue]]:
    """Which of the projects are paused, the agents' statuses, and each routine's newest
    open execution issue (as shared.runs.reading.live_issues picks it): one statement, a
    round trip instead of three, each part empty when it names no id."""
    if not (project_ids or agent_ids or routine_ids):
        return frozenset(), {}, {}
    params = {
        "project_ids": project_ids,
        "agent_ids": agent_ids,
        "routine_ids": routine_ids,
        "statuses": list(LIVE_ISSUE_STATUSES),
    }
    paused: set[uuid.UUID] = set()
    statuses: dict[uuid.UUID, str] = {}
    live: dict[uuid.UUID, LiveIssue] = {}
    for row in _FACTS.execute(connection, params):
        if row.kind == _PAUSED:
            paused.add(row.id)
        elif row.kind == _AGENT:
            statuses[row.id] = row.status
        else:
            live[row.origin_id] = LiveIssue(row.id, row.origin_run_id)
    return frozenset(paused), statuses, live


def _columns(model: type[Any], state: type[Any]) -> list[ColumnElement[Any]]:
    """The model's columns named like the state's fields, in the same order."""
    return [getattr(model, field.name) for field in fields(state)]


def _states(state: type[S], rows: Iterable[Any]) -> list[S]:
    return [state(*row) for row in rows]


def _ids(values: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
    return sorted({value for value in values if value is not None})


_ROUTINE_COLUMNS = _columns(Routine, RoutineState)
_TRIGGER_COLUMNS = _columns(RoutineTrigger, TriggerState)
#: The statements of a batch, built once each (shared.platform.members): the ids travel as
#: one parameter, so SQLAlchemy compiles each once per process, and PostgreSQL parses and
#: plans each once per connection (prepared).
_ROUTINES_OF = PerDialect(
    lambda member: select(RoutineRun.routine_id, RoutineRun.created_at).where(
        member(RoutineRun.__table__.c.id, "run_ids")
    ),
    prepared="routines_decide_routines_of",
)


def _inline(value: str) -> ColumnElement[str]:
    """A constant written into the statement, not a parameter: PostgreSQL's plan for a
    prepared statement, made once for all executions, then knows it, and uses the partial
    index on `received` runs (ix_routine_runs_received). Only for constants of the code."""
    return literal_column(f"'{value}'")


def _runs(member: Member, *, take_along: bool) -> Select[Any]:
    # Only runs of routines this transaction holds: a routine deleted meanwhile took its
    # runs with it, and no other routine's run may be decided without its lock.
    runs = RoutineRun.__table__.c
    query = select(*_columns(RoutineRun, RunState)).where(member(runs.routine_id, "routine_ids"))
    if take_along:
        received = RoutineRun.status == _inline("received")
        taken = received & (RoutineRun.created_at >= bindparam("since"))
        query = query.where(taken | member(runs.id, "run_ids")).limit(bindparam("limit"))
    else:
        query = query.where(member(runs.id, "run_ids"))
    return query.order_by(RoutineRun.created_at, RoutineRun.scheduled_for, RoutineRun.id)


_OWN_RUNS = PerDialect(
    lambda member: _runs(member, take_along=False), prepared="routines_decide_own_runs"
)
_TAKEN_RUNS = PerDialect(
    lambda member: _runs(member, take_along=True), prepared="routines_decide_taken_runs"
)
#: What a row of _FACTS is about (its `kind`).
_PAUSED, _AGENT, _LIVE = "paused", "agent", "live"


def _newest_live_issues(member: Member) -> Select[Any]:
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
            Issue.origin_kind == _inline(ROUTINE_EXECUTION),
            member(Issue.__table__.c.origin_id, "routine_ids"),
            member(Issue.__table__.c.status, "statuses"),
        )
        .subquery()
    )
    newest = ranked.c.rank == literal_column("1")
    return select(
        _inline(_LIVE).label("kind"),
        ranked.c.id,
        cast(null(), String).label("status"),
        ranked.c.origin_id,
        ranked.c.origin_run_id,
    ).where(newest)


def _facts_of(member: Member) -> Select[Any]:
    no_uuid = cast(null(), Uuid)
    paused = select(
        _inline(_PAUSED).label("kind"),
        Project.id,
        cast(null(), String).label("status"),
        no_uuid.label("origin_id"),
        no_uuid.label("origin_run_id"),
    ).where(member(Project.__table__.c.id, "project_ids"), Project.paused_at.is_not(None))
    agents = select(
        _inline(_AGENT).label("kind"),
        Agent.id,
        Agent.status,
        no_uuid.label("origin_id"),
        no_uuid.label("origin_run_id"),
    ).where(member(Agent.__table__.c.id, "agent_ids"))
    facts = union_all(paused, agents, _newest_live_issues(member)).subquery("facts")
    return select(*facts.c)


_FACTS = PerDialect(_facts_of, prepared="routines_decide_facts")
