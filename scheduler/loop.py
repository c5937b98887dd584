"""The scheduler loop: each tick sweeps undecided runs back onto the queue.

A run is durable in PostgreSQL before its 202; if the enqueue after commit was lost
(broker down, worker killed before ack), the sweep is what still gets it decided.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from shared.db import transaction
from shared.runtime import Runtime
from shared.services.sweep import undecided_runs

log = logging.getLogger(__name__)

#: Runs re-enqueued per tick at most, so one tick stays short.
SWEEP_BATCH = 500


@dataclass(frozen=True)
class TickReport:
    swept: int


class Scheduler:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        #: When each run was last re-enqueued here, so a slow queue is not flooded.
        self._swept_at: dict[uuid.UUID, float] = {}

    def tick(self) -> TickReport:
        return TickReport(swept=self.sweep())

    def sweep(self) -> int:
        settings = self.runtime.settings
        cutoff = self.runtime.clock.now() - timedelta(seconds=settings.sweep_after_seconds)
        with transaction(self.runtime.sessions) as session:
            run_ids = undecided_runs(session, recorded_before=cutoff, limit=SWEEP_BATCH)
        now = time.monotonic()
        self._swept_at = {
            k: v for k, v in self._swept_at.items() if now - v < settings.sweep_after_seconds
        }
        due = [run_id for run_id in run_ids if run_id not in self._swept_at]
        for run_id in due:
            if self.runtime.enqueuer.dispatch_run(run_id):
                self._swept_at[run_id] = now
        if due:
            log.info("swept undecided runs", extra={"outcome": f"{len(due)} re-enqueued"})
        return len(due)

    def run(self, stop: threading.Event) -> None:
        """Tick until `stop` is set; a failing tick is logged and retried, never fatal."""
        interval = self.runtime.settings.scheduler_interval_seconds
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            stop.wait(interval)
