"""Deciding runs (API.md section 6): many per transaction, under their routines' row locks
(locks in the order of shared.platform.locks), each decided in order exactly as if alone.

A batch reads what its decisions need with a fixed number of statements
(shared.runs.decide_load), decides in Python (shared.runs.decide_rules) and
writes set-based (shared.runs.decide_write), so one transaction deciding 200 runs
costs about what one run used to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shared.runs.decide_load import TAKE_ALONG_LIMIT, Loaded, load_batch
from shared.runs.decide_rules import (
    CREATE,
    RESULT_COALESCED,
    RESULT_CREATED,
    RESULT_FAILED,
    RESULT_SKIPPED_LIVE,
    RESULT_SKIPPED_PAUSED,
    Decision,
    Facts,
    LiveIssue,
    Outcome,
    RoutineState,
    RunState,
    Verdict,
    created,
    failed,
    judge,
)
from shared.runs.decide_write import Changes, write

__all__ = [
    "RESULT_COALESCED",
    "RESULT_CREATED",
    "RESULT_FAILED",
    "RESULT_SKIPPED_LIVE",
    "RESULT_SKIPPED_PAUSED",
    "TAKE_ALONG_LIMIT",
    "Batch",
    "Decision",
    "Outcome",
    "decide_runs",
    "dispatch_run",
    "fail_run",
]

Rule = Callable[[RunState, RoutineState, Facts], Verdict]


@dataclass(frozen=True)
class Batch:
    #: Every run this transaction decided (the message's and those taken along, in
    #: decision order), then the message's runs found decided already or missing.
    decisions: list[Decision]
    #: The message's runs that the take-along limit left for another round.
    leftover: list[uuid.UUID]


def decide_runs(
    session: Session, *, run_ids: Sequence[uuid.UUID], now: datetime, take_along: bool = True
) -> Batch:
    """Decide `run_ids` and, with `take_along`, every other `received` run of their
    routines, oldest first: a burst at a hot routine is then a few transactions, not one
    per run. Safe to repeat: only a `received` run is decided."""
    return _decide(session, run_ids, now=now, take_along=take_along, rule=judge)


def dispatch_run(session: Session, *, run_id: uuid.UUID, now: datetime) -> Decision:
    """Decide this run alone; safe to call any number of times: only a `received` run is
    decided, the others report `already_decided`."""
    return _own(decide_runs(session, run_ids=[run_id], now=now, take_along=False), run_id)


def fail_run(session: Session, *, run_id: uuid.UUID, reason: str, now: datetime) -> Decision:
    """Record an unexpected dispatch error on a run nobody decided yet."""
    batch = _decide(session, [run_id], now=now, take_along=False, rule=lambda *_: failed(reason))
    return _own(batch, run_id)


def _decide(
    session: Session,
    run_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    take_along: bool,
    rule: Rule,
) -> Batch:
    wanted = set(run_ids)
    loaded = load_batch(session, wanted, take_along=take_along)
    changes = Changes(now)  # each decision's own time: Changes.stamp
    decided: list[Decision] = []
    reported: list[Decision] = []
    for run in loaded.runs:
        if run.status != "received":
            if run.id in wanted:
                reported.append(_already_decided(run))
            continue
        decided.append(_decide_one(run, loaded, changes, rule))
    write(session, changes)
    seen = {run.id for run in loaded.runs}
    unseen = [run_id for run_id in dict.fromkeys(run_ids) if run_id not in seen]
    if not loaded.complete:
        return Batch(decided + reported, leftover=unseen)
    missing = [Decision(Outcome.MISSING, run_id) for run_id in unseen]
    return Batch(decided + reported + missing, leftover=[])


def _decide_one(run: RunState, loaded: Loaded, changes: Changes, rule: Rule) -> Decision:
    """One run, seeing what the runs decided before it in this batch did."""
    routine = loaded.routines[run.routine_id]
    facts = loaded.facts(run, routine)
    verdict = rule(run, routine, facts)
    if verdict is CREATE:
        issue = LiveIssue(uuid.uuid4(), run.id)
        changes.add_issue(run, routine, issue.id)
        verdict = created(issue)
        # Later runs of this routine find it live, as they would one transaction later.
        loaded.live[routine.id] = issue
    changes.record(run, routine, facts.trigger, verdict)
    issue_id = verdict.issue.id if verdict.issue else None
    return Decision(verdict.outcome, run.id, issue_id, run.source, run.created_at)


def _already_decided(run: RunState) -> Decision:
    return Decision(Outcome.ALREADY_DECIDED, run.id, run.linked_issue_id, run.source)


def _own(batch: Batch, run_id: uuid.UUID) -> Decision:
    return next(decision for decision in batch.decisions if decision.run_id == run_id)
