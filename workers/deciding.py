"""Deciding runs in a worker: one transaction per batch, errors sorted into "retry the
message later" and "fail the run that is broken", then announcements and metrics for
every decision, whichever message's transaction made it."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.platform.db import transaction
from shared.platform.grouping import Group
from shared.platform.metrics import DISPATCH_ERRORS, FIRE_TO_DECISION, RUNS_DECIDED
from shared.platform.runtime import Runtime
from shared.runs.deciding import Decision, Outcome, decide_runs, dispatch_run, fail_run

log = logging.getLogger(__name__)

#: Errors that mean "try again later" (the database is away, or the server session lost
#: the statements prepared on it: StatementsLost, an OperationalError, see
#: shared.platform.prepared), not "this run is broken".
TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)
#: Transactions a worker process's DecisionGroup runs at once.
LANES = 2
#: Transactions one message may take when a backlog older than its runs fills the
#: take-along limit; its runs still undecided after that go back to the queue.
MAX_ROUNDS = 4


def decide(runtime: Runtime, run_id: uuid.UUID) -> Decision:
    """Decide exactly this run, for a `dispatch_run` message: one message, one decision,
    so that a queued message still means an undecided run (queue depths on /ops, runs
    handed back at shutdown) and a caller gets its own run's outcome. Taking along is for
    `dispatch_runs` messages. An unexpected error fails the run with its reason instead of
    retrying forever, while a transient one is raised so that the broker retries."""
    decision = _alone(runtime, run_id)
    _settle(runtime, [decision])
    return decision


def decide_many(runtime: Runtime, run_ids: Sequence[uuid.UUID]) -> list[Decision]:
    """Decide a message's runs together with the other `received` runs of their routines.
    An unexpected error must not fail a whole batch for one broken run: the message's runs
    are then retried one by one, and only a run that fails alone is failed."""
    decisions: list[Decision] = []
    pending = list(dict.fromkeys(run_ids))
    try:
        for _ in range(MAX_ROUNDS):
            with transaction(runtime.sessions) as session:
                batch = decide_runs(session, run_ids=pending, now=runtime.clock.now())
            decisions += batch.decisions
            pending = batch.leftover
            if not pending:
                break
        else:
            runtime.enqueuer.dispatch_runs(pending)
    except TRANSIENT:
        DISPATCH_ERRORS.labels("transient").inc()
        raise
    except Exception:
        DISPATCH_ERRORS.labels("unexpected").inc()
        log.exception("batch dispatch failed; deciding its runs one by one")
        for run_id in pending:
            decisions.append(_alone(runtime, run_id))
    finally:
        _settle(runtime, decisions)
    return decisions


class DecisionGroup:
    """The `dispatch_runs` messages a worker process's threads hold at one moment, decided
    together in one transaction (group commit, shared.platform.grouping): a
    transaction's fixed cost (a dozen statements, their planning, the commit's flush) is
    spread over several messages' runs instead of being paid per message.

    Two lanes, not one: with one, a commit that waited on a slow disk flush held every
    message behind it, and p99 fire-to-decision at half the full rate was 167 ms (target
    100 ms); two transactions at a time still make batches several messages large.

    Each thread still returns only once its own runs are decided (its message is acked
    after that), and gets its own runs' decisions back; an error that makes the broker
    retry reaches every message of the transaction."""

    def __init__(self, lanes: int = LANES) -> None:
        self._group: Group[Sequence[uuid.UUID], list[Decision]] = Group(lanes)

    def waiting(self) -> int:
        return self._group.waiting()

    def decide(self, runtime: Runtime, run_ids: Sequence[uuid.UUID]) -> list[Decision]:
        return self._group.ask(list(run_ids), lambda batch: _decide_batch(runtime, batch))


def _decide_batch(runtime: Runtime, batch: Sequence[Sequence[uuid.UUID]]) -> list[list[Decision]]:
    decisions = decide_many(runtime, [run_id for run_ids in batch for run_id in run_ids])
    by_run = {decision.run_id: decision for decision in decisions}
    return [[by_run[i] for i in dict.fromkeys(run_ids) if i in by_run] for run_ids in batch]


def summary(decisions: Iterable[Decision]) -> str:
    """For the one log line of a batch: `coalesced=199 issue_created=1`."""
    counts = Counter(decision.outcome.value for decision in decisions)
    return " ".join(f"{outcome}={count}" for outcome, count in sorted(counts.items()))


def _alone(runtime: Runtime, run_id: uuid.UUID) -> Decision:
    try:
        with transaction(runtime.sessions) as session:
            return dispatch_run(session, run_id=run_id, now=runtime.clock.now())
    except TRANSIENT:
        DISPATCH_ERRORS.labels("transient").inc()
        raise
    except Exception as error:
        DISPATCH_ERRORS.labels("unexpected").inc()
        log.exception("dispatch failed", extra={"run_id": str(run_id)})
        with transaction(runtime.sessions) as session:
            reason = f"Dispatch failed: {type(error).__name__}: {error}"[:1000]
            return fail_run(session, run_id=run_id, reason=reason, now=runtime.clock.now())


def _settle(runtime: Runtime, decisions: list[Decision]) -> None:
    """After commit: wake the waiters of every run looked at, count every run decided."""
    if not decisions:
        return
    runtime.decisions.announce([decision.run_id for decision in decisions])
    now = runtime.clock.now()
    for decision in decisions:
        _observe(decision, now)


def _observe(decision: Decision, now: datetime) -> None:
    if decision.outcome in (Outcome.ALREADY_DECIDED, Outcome.MISSING):
        return
    source = decision.source or "unknown"
    RUNS_DECIDED.labels(decision.outcome.value, source).inc()
    if decision.recorded_at is not None:
        FIRE_TO_DECISION.labels(source).observe((now - decision.recorded_at).total_seconds())
