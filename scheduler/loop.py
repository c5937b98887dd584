"""The scheduler loop. Each tick, the lease holder:

1. scans due schedule triggers (keyset pages over the next_run_at index) and
   enqueues them in pages, `fire_schedules([[trigger_id, due_at], ...])` of up to
   PAGE_TICKS ticks, each recorded by a worker in one transaction; a tick enqueued
   recently is left out (and re-enqueued only after a timeout);
2. sweeps runs still `received` after a while back onto the queue: a run is
   durable before its 202, so a lost message (broker down, worker killed) is
   recovered here. Each sweep reads the next page (oldest first, wrapping around), so
   runs that stay stuck at the front never hide newer lost ones;
3. deletes runs past ROUTINES_RUN_RETENTION_DAYS, RETENTION_BATCH at a time in a short
   transaction of its own (shared/runs/retention.py says which stay); after a batch that
   comes up short it rests RETENTION_REST_SECONDS, since nothing new expires faster.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.lease import AlwaysLeader, Lease
from shared.contract.timefmt import iso
from shared.platform.broker import DISPATCH_BATCH, DISPATCH_QUEUE, SCHEDULE_QUEUE
from shared.platform.db import transaction
from shared.platform.metrics import (
    DUE_BACKLOG,
    RUNS_EXPIRED,
    SCHEDULER_LEADER,
    SWEEP_REENQUEUED,
    queue_depths,
)
from shared.platform.runtime import Runtime
from shared.runs.retention import delete_expired_runs
from shared.runs.sweep import undecided_runs
from shared.schedules.due import due_triggers

log = logging.getLogger(__name__)

#: Rows per page of the due scan, and runs per sweep.
SCAN_BATCH = 1000
SWEEP_BATCH = 500
#: Messages waiting beyond which a queue counts as backed up (see _backlogged).
BACKLOG_MESSAGES = max(1, SCAN_BATCH // DISPATCH_BATCH)
#: Ticks per fire_schedules message: one worker transaction each, short enough to hold
#: the triggers' locks briefly, long enough that 100,000 due ticks are 500 messages.
PAGE_TICKS = 200
#: The lease is renewed before every message after a scan page's first, i.e. every this
#: many enqueued ticks, so a slow page cannot outlive the lease.
RENEW_EVERY = PAGE_TICKS
#: A tick enqueued this long ago and still due is enqueued again (its message was lost).
REENQUEUE_AFTER_SECONDS = 30.0
#: Expired runs deleted per tick at most: one short transaction, row locks skipped.
RETENTION_BATCH = 500
#: After a short batch (nothing more expired), retention waits this long to look again.
RETENTION_REST_SECONDS = 60.0


@dataclass(frozen=True)
class TickReport:
    leader: bool
    enqueued: int = 0
    swept: int = 0
    expired: int = 0


@dataclass
class _Recent:
    """When each key was last enqueued, forgotten after `ttl` seconds."""

    ttl: float
    seen: dict[object, float] = field(default_factory=dict)

    def due(self, key: object, now: float) -> bool:
        last = self.seen.get(key)
        return last is None or now - last >= self.ttl

    def mark(self, key: object, now: float) -> None:
        self.seen[key] = now

    def prune(self, now: float) -> None:
        self.seen = {k: v for k, v in self.seen.items() if now - v < self.ttl}


class Scheduler:
    def __init__(self, runtime: Runtime, lease: Lease | None = None) -> None:
        self.runtime = runtime
        self.lease = lease or AlwaysLeader()
        self.instance = f"{socket.gethostname()}:{os.getpid()}"
        self.leader = False
        self._ticks = _Recent(REENQUEUE_AFTER_SECONDS)
        self._runs = _Recent(runtime.settings.sweep_after_seconds)
        #: Where the next sweep page starts; back to the oldest once a page comes up short.
        self._sweep_from: tuple[datetime, uuid.UUID] | None = None
        #: When (monotonic) retention may look for expired runs again.
        self._retain_after = 0.0

    def tick(self) -> TickReport:
        if not self._hold():
            return TickReport(leader=False)
        enqueued = self.scan()
        if not self.leader:  # the lease was lost during the scan: stop at once
            return TickReport(leader=False, enqueued=enqueued)
        swept = self.sweep()
        return TickReport(leader=True, enqueued=enqueued, swept=swept, expired=self.retain())

    def _backlogged(self, queue: str) -> bool:
        """More work waiting than one scan page: the workers are behind, not idle.
        Messages carry up to DISPATCH_BATCH runs or ticks, so a handful of them is
        already a page."""
        try:
            ready, _, _ = queue_depths(self.runtime.broker).get(queue, (0, 0, 0))
        except Exception:
            return False
        return ready > BACKLOG_MESSAGES

    def _hold(self) -> bool:
        self.leader = self.lease.hold()
        SCHEDULER_LEADER.labels(self.instance).set(1 if self.leader else 0)
        return self.leader

    def scan(self) -> int:
        now, clock_now = time.monotonic(), self.runtime.clock.now()
        # Behind a backlog a tick still due is only waiting; resend it only when the
        # queue is short and it has been due too long (then its message was lost).
        resend = not self._backlogged(SCHEDULE_QUEUE)
        if resend:
            self._ticks.prune(now)
        enqueued, seen, after = 0, 0, None
        while True:
            with transaction(self.runtime.sessions) as session:
                page = due_triggers(session, now=clock_now, limit=SCAN_BATCH, after=after)
            seen += len(page)
            # A tick enqueued before is sent again only when resending and it is stale.
            wanted = [
                (due.trigger_id, due.due_at)
                for due in page
                if (due.trigger_id, due.due_at) not in self._ticks.seen
                or (resend and self._ticks.due((due.trigger_id, due.due_at), now))
            ]
            for start in range(0, len(wanted), PAGE_TICKS):
                if start and not self._hold():
                    return enqueued  # lost the lease mid-page: stop at once
                enqueued += self._enqueue(wanted[start : start + PAGE_TICKS], now)
            if len(page) < SCAN_BATCH or not self._hold():
                DUE_BACKLOG.set(seen)
                return enqueued
            after = (page[-1].due_at, page[-1].trigger_id)

    def _enqueue(self, keys: list[tuple[uuid.UUID, datetime]], now: float) -> int:
        """One message for the ticks; remembered only if the broker took it."""
        pairs = [(trigger_id, iso(due_at)) for trigger_id, due_at in keys]
        if not self.runtime.enqueuer.fire_schedules(pairs):
            return 0
        for key in keys:
            self._ticks.mark(key, now)
        return len(keys)

    def sweep(self) -> int:
        settings = self.runtime.settings
        cutoff = self.runtime.clock.now() - timedelta(seconds=settings.sweep_after_seconds)
        if self._backlogged(DISPATCH_QUEUE):
            # Runs waiting behind a queue are not lost; re-enqueueing them would only
            # add duplicate work to the backlog. Lost ones are swept once it drains.
            return 0
        with transaction(self.runtime.sessions) as session:
            page = undecided_runs(
                session, recorded_before=cutoff, limit=SWEEP_BATCH, after=self._sweep_from
            )
        full = len(page) == SWEEP_BATCH
        self._sweep_from = (page[-1].created_at, page[-1].run_id) if full else None
        now = time.monotonic()
        self._runs.prune(now)
        due = [u.run_id for u in page if self._runs.due(u.run_id, now)]
        swept = 0
        if due and self.runtime.enqueuer.dispatch_runs(due):
            for run_id in due:
                self._runs.mark(run_id, now)
            swept = len(due)
        SWEEP_REENQUEUED.inc(swept)
        if swept:
            log.info("swept undecided runs", extra={"outcome": f"{swept} re-enqueued"})
        return swept

    def retain(self) -> int:
        """One batch of expired runs deleted, unless retention is off or resting."""
        days = self.runtime.settings.run_retention_days
        now = time.monotonic()
        if days <= 0 or now < self._retain_after:
            return 0
        cutoff = self.runtime.clock.now() - timedelta(days=days)
        with transaction(self.runtime.sessions) as session:
            deleted = delete_expired_runs(session, recorded_before=cutoff, limit=RETENTION_BATCH)
        RUNS_EXPIRED.inc(deleted)
        if deleted < RETENTION_BATCH:
            self._retain_after = now + RETENTION_REST_SECONDS
        if deleted:
            log.info("deleted expired runs", extra={"outcome": f"{deleted} deleted"})
        return deleted

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged and retried, never fatal."""
        interval = self.runtime.settings.scheduler_interval_seconds
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except Exception:
                    log.exception("scheduler tick failed")
                stop.wait(interval)
        finally:
            self.lease.release()
