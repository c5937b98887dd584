"""Rate limits on the public fire endpoint, per trigger and per client address.

Fixed one-minute windows counted in Redis (INCR + EXPIRE), so every web pod
shares them; in-process counters in the embedded mode. If Redis cannot be
reached the limit fails open: refusing webhooks because the limiter is down
would lose more than it protects.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

import redis

from shared.circuit import Breaker
from shared.errors import TooManyRequests
from shared.metrics import RATE_LIMITED

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


def check_fire_rate(
    counter: Counter,
    *,
    public_id: str,
    client: str,
    per_trigger: int,
    per_client: int,
    now: float | None = None,
) -> None:
    """Raise 429 with the seconds until the window turns when either limit is passed
    (a limit of 0 is off)."""
    at = time.time() if now is None else now
    window = int(at // WINDOW_SECONDS)
    limits = [
        (scope, key, limit)
        for scope, key, limit in (
            ("trigger", f"trigger:{public_id}", per_trigger),
            ("client", f"client:{client}", per_client),
        )
        if limit > 0
    ]
    if not limits:
        return
    try:
        counts = counter.count([key for _, key, _ in limits], window)
    except redis.RedisError:
        log.warning("rate limiter unavailable; letting the request through")
        return
    for (scope, _, limit), hits in zip(limits, counts, strict=True):
        if hits > limit:
            RATE_LIMITED.labels(scope).inc()
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - at))
            raise TooManyRequests("Rate limit exceeded", retry_after=retry_after)
