"""Run ids collected for a moment and sent as one message.

Webhook fires arrive in bursts; sending each accepted run as its own message costs a
Redis round trip in the request and a message fetch, ack and transaction in a worker.
A web process instead hands its run ids to a `DispatchBatcher`, which sends whatever
gathered during the linger (a few milliseconds) as one `dispatch_runs` message. The runs
are durable before the 202, so a process that dies with ids still in hand loses nothing:
the scheduler's sweep enqueues runs still `received` after a while, as it does for any
lost message.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid

from shared.platform.broker import DISPATCH_BATCH, Enqueuer

log = logging.getLogger(__name__)


class DispatchBatcher:
    """One sender thread per process, started by the first run it is given (after a
    fork, never in a pre-fork parent)."""

    def __init__(self, enqueuer: Enqueuer, linger_seconds: float) -> None:
        self.enqueuer = enqueuer
        self.linger = linger_seconds
        self._pending: list[uuid.UUID] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def add(self, run_id: uuid.UUID) -> None:
        if self.linger <= 0:
            self.enqueuer.dispatch_run(run_id)
            return
        with self._lock:
            self._pending.append(run_id)
            if self._thread is None:
                self._start()
            if len(self._pending) == 1 or len(self._pending) >= DISPATCH_BATCH:
                self._ready.notify()

    def flush(self) -> None:
        """Send what is pending now (at exit, and in tests)."""
        with self._lock:
            batch, self._pending = self._pending, []
        if batch:
            self.enqueuer.dispatch_runs(batch)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dispatch-batcher", daemon=True)
        self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending:
                    self._ready.wait()
                if len(self._pending) < DISPATCH_BATCH:
                    # Let the burst gather; a full batch goes at once.
                    self._ready.wait(self.linger)
            try:
                self.flush()
            except Exception:  # the Enqueuer logs and never raises; this is a last guard
                log.exception("dispatch batch not sent; the sweep will enqueue its runs")
