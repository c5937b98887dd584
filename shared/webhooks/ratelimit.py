"""Rate limits on the public fire endpoint, per client address and per trigger.

Fixed one-minute windows counted in Redis (INCR + EXPIRE), so every web pod
shares them; in-process counters in the embedded mode. If Redis cannot be
reached the limit fails open: refusing webhooks because the limiter is down
would lose more than it protects.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import Protocol

import redis

from shared.contract.errors import TooManyRequests
from shared.platform.circuit import Breaker
from shared.platform.metrics import RATE_LIMITED

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class Counter(Protocol):
    def count(self, keys: list[str], window: int) -> list[int]:
        """Add one hit to each key in the window numbered `window`; the hits so far."""
        ...


class RedisCounter:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{namespace}:ratelimit:"
        self.breaker = Breaker()

    def count(self, keys: list[str], window: int) -> list[int]:
        """All keys in one round trip."""
        if not self.breaker.allows():
            raise redis.ConnectionError("Redis failed moments ago; not asking it again yet")
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            name = f"{self.prefix}{key}:{window}"
            pipe.incr(name)
            pipe.expire(name, WINDOW_SECONDS * 2)
        try:
            replies = pipe.execute()
        except redis.RedisError:
            self.breaker.failed()
            raise
        return [int(hits) for hits in replies[::2]]


class MemoryCounter:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def count(self, keys: list[str], window: int) -> list[int]:
        with self._lock:
            if len(self._hits) > 50_000:
                self._hits = {k: v for k, v in self._hits.items() if k[1] >= window}
            for key in keys:
                self._hits[(key, window)] = self._hits.get((key, window), 0) + 1
            return [self._hits[(key, window)] for key in keys]


@dataclass(frozen=True)
class FireBudget:
    """One public fire's claims on the two limits, spent at different moments: the client
    address at once (every request, signed or not, so a flood is cheap to refuse), the
    trigger only once the signature verified, so unauthenticated traffic can never spend
    the budget of a trigger's real sender. A limit of 0 is off."""

    counter: Counter
    client: str
    per_trigger: int
    per_client: int
    #: Seconds since the epoch, from the injected clock.
    at: float

    def spend_client(self) -> None:
        self._spend("client", f"client:{self.client}", self.per_client)

    def spend_trigger(self, public_id: str) -> None:
        self._spend("trigger", f"trigger:{public_id}", self.per_trigger)

    def _spend(self, scope: str, key: str, limit: int) -> None:
        """Raise 429 with the seconds until the window turns once `limit` is passed."""
        if limit <= 0:
            return
        window = int(self.at // WINDOW_SECONDS)
        try:
            (hits,) = self.counter.count([key], window)
        except redis.RedisError:
            log.warning("rate limiter unavailable; letting the request through")
            return
        if hits > limit:
            RATE_LIMITED.labels(scope).inc()
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - self.at))
            raise TooManyRequests("Rate limit exceeded", retry_after=retry_after)
