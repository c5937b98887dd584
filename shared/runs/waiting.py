"""Waiting for a run's decision (`Prefer: wait=N`, API.md 5.1) without tying up the web.

A waiting request holds a web thread, so a process lets only a few wait at once
(`ROUTINES_WAIT_MAX_WAITERS`); beyond that the request is answered at once, as if it
had not asked. A wait does not poll the database every few milliseconds: workers
announce each decision (in-process in the embedded mode, on a Redis channel in the
distributed one) and the waiter wakes on the announcement, checking the database only
at the start and then once a second, in case an announcement was lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable

import redis

from shared.platform.circuit import Breaker

log = logging.getLogger(__name__)

#: A waiter re-reads the run this often even without an announcement.
RECHECK_SECONDS = 1.0
#: Pause before a broken subscription is opened again.
RESUBSCRIBE_SECONDS = 1.0


class DecisionBoard:
    """Where decisions are announced and waited for, within one process."""

    def __init__(self, max_waiters: int) -> None:
        self._slots = threading.BoundedSemaphore(max(0, max_waiters)) if max_waiters else None
        self._waiting: dict[uuid.UUID, list[threading.Event]] = {}
        self._lock = threading.Lock()

    def announce(self, run_ids: Iterable[uuid.UUID]) -> None:
        """Called after a decision commits: wake whoever waits for these runs."""
        self._wake(run_ids)

    def wait(self, run_id: uuid.UUID, seconds: float, undecided: Callable[[], bool]) -> bool | None:
        """Wait until `undecided()` turns False or `seconds` pass: True if decided, False
        on timeout, None at once if too many requests of this process are waiting."""
        if self._slots is None or not self._slots.acquire(blocking=False):
            return None
        woken = self._register(run_id)
        try:
            return self._wait(woken, seconds, undecided)
        finally:
            self._unregister(run_id, woken)
            self._slots.release()

    def _wait(self, woken: threading.Event, seconds: float, undecided: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + seconds
        while undecided():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            woken.wait(min(left, RECHECK_SECONDS))
            woken.clear()
        return True

    def _register(self, run_id: uuid.UUID) -> threading.Event:
        woken = threading.Event()
        with self._lock:
            self._waiting.setdefault(run_id, []).append(woken)
        return woken

    def _unregister(self, run_id: uuid.UUID, woken: threading.Event) -> None:
        with self._lock:
            events = self._waiting.get(run_id, [])
            if woken in events:
                events.remove(woken)
            if not events:
                self._waiting.pop(run_id, None)

    def _wake(self, run_ids: Iterable[uuid.UUID]) -> None:
        with self._lock:
            events = [event for run_id in run_ids for event in self._waiting.get(run_id, ())]
        for event in events:
            event.set()


class RedisDecisionBoard(DecisionBoard):
    """Announcements travel over one Redis channel to every web pod; each pod listens
    with one background thread, started when its first request waits."""

    def __init__(self, client: redis.Redis, namespace: str, max_waiters: int) -> None:
        super().__init__(max_waiters)
        self.client = client
        self.channel = f"{namespace}:decided"
        self.breaker = Breaker()
        self._listener: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def announce(self, run_ids: Iterable[uuid.UUID]) -> None:
        """One PUBLISH per decision transaction; a lost one only delays a waiter until
        its next re-check, so a failure is logged and swallowed."""
        payload = " ".join(str(run_id) for run_id in run_ids)
        if not payload or not self.breaker.allows():
            return
        try:
            self.client.publish(self.channel, payload)
        except redis.RedisError:
            self.breaker.failed()
            log.warning("could not announce decisions; waiters fall back to re-checking")

    def wait(self, run_id: uuid.UUID, seconds: float, undecided: Callable[[], bool]) -> bool | None:
        self._listen()
        return super().wait(run_id, seconds, undecided)

    def _listen(self) -> None:
        with self._start_lock:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(
                    target=self._follow, name="decision-listener", daemon=True
                )
                self._listener.start()

    def _follow(self) -> None:
        while True:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(self.channel)
                while True:
                    # Polls with a timeout instead of blocking in listen(), which the
                    # client's socket timeout would turn into an error every second.
                    message = pubsub.get_message(timeout=RECHECK_SECONDS)
                    if message is not None:
                        self._wake(_run_ids(message.get("data")))
            except redis.RedisError:
                log.warning("decision announcements unavailable; re-subscribing")
                time.sleep(RESUBSCRIBE_SECONDS)


def _run_ids(data: object) -> list[uuid.UUID]:
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else str(data)
    ids = []
    for part in text.split():
        try:
            ids.append(uuid.UUID(part))
        except ValueError:
            continue
    return ids
