"""Deciding runs in a worker: one transaction per batch, errors sorted into "retry the
message later" and "fail the run that is broken", then announcements and metrics for
every decision, whichever message's transaction made it."""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared.platform.db import transaction
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


@dataclass
class _Ticket:
    run_ids: list[uuid.UUID]
    decisions: list[Decision] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False
    #: Held until the ticket's thread is woken: its runs are decided, or it leads next.
    wake: threading.Lock = field(default_factory=threading.Lock)


class DecisionGroup:
    """The `dispatch_runs` messages a worker process's threads hold at one moment, decided
    together: a thread that finds a lane free decides whatever is waiting, and the
    messages that arrive meanwhile go into the next transaction, decided by one of their
    own threads (group commit, for decisions). Batches grow with the load, so a
    transaction's fixed cost (a dozen statements, their planning, the commit's flush) is
    spread over several messages' runs instead of being paid per message. An idle
    process decides a lone message at once, as before.

    Two lanes, not one: with one, a commit that waited on a slow disk flush held every
    message behind it, and p99 fire-to-decision at half the full rate was 167 ms (target
    100 ms); two transactions at a time still make batches several messages large.

    Each thread still returns only once its own runs are decided (its message is acked
    after that), and gets its own runs' decisions back; an error that makes the broker
    retry reaches every message of the transaction. Every waiting thread is woken once,
    by its own lock: when its runs are decided, or to lead the next transaction (waking
    them all on a condition at every commit was an eighth of the worker's Python time)."""

    def __init__(self, lanes: int = LANES) -> None:
        self.lanes = lanes
        self._waiting: list[_Ticket] = []
        self._leading = 0
        self._lock = threading.Lock()

    def decide(self, runtime: Runtime, run_ids: Sequence[uuid.UUID]) -> list[Decision]:
        ticket = _Ticket(list(run_ids))
        ticket.wake.acquire()
        with self._lock:
            follow = self._leading >= self.lanes
            if follow:
                self._waiting.append(ticket)
            else:
                self._leading += 1
        if follow:
            ticket.wake.acquire()  # until decided, or handed the lead
            if ticket.done:
                return _outcome(ticket)
        with self._lock:
            batch, self._waiting = [ticket, *self._waiting], []
        try:
            self._decide_batch(runtime, batch)
        finally:
            for other in batch[1:]:
                other.wake.release()
            with self._lock:
                successor = self._waiting.pop(0) if self._waiting else None
                if successor is None:
                    self._leading -= 1
            if successor is not None:  # it leads in this one's lane
                successor.wake.release()
        return _outcome(ticket)

    @staticmethod
    def _decide_batch(runtime: Runtime, batch: list[_Ticket]) -> None:
        wanted = [run_id for ticket in batch for run_id in ticket.run_ids]
        try:
            decisions = decide_many(runtime, wanted)
        except BaseException as error:
            for ticket in batch:
                ticket.error, ticket.done = error, True
            raise
        by_run = {decision.run_id: decision for decision in decisions}
        for ticket in batch:
            ticket.decisions = [by_run[i] for i in dict.fromkeys(ticket.run_ids) if i in by_run]
            ticket.done = True


def _outcome(ticket: _Ticket) -> list[Decision]:
    """Another thread's error is raised here as a copy of its own, so that no exception
    object is raised in two threads at once."""
    if ticket.error is not None:
        raise copy.copy(ticket.error)
    return ticket.decisions


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
