"""Memory of webhook signatures already seen, shared by every web pod.

Redis in the distributed mode (SET NX with the replay window as its expiry); an
in-process map in the embedded mode, where there is only one process to share it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

import redis

from shared.circuit import Breaker
from shared.errors import Unavailable


class ReplayGuard(Protocol):
    def first_sighting(self, key: str, ttl_seconds: int) -> bool:
        """Record `key`; True if it was not seen within its ttl."""
        ...


class RedisReplayGuard:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{namespace}:webhook-replay:"
        self.breaker = Breaker()

    def first_sighting(self, key: str, ttl_seconds: int) -> bool:
        # Fail closed: accepting an unchecked signature would make replays possible.
        if not self.breaker.allows():
            raise Unavailable("Replay protection unavailable")
        try:
            return bool(self.client.set(self.prefix + key, b"1", nx=True, ex=max(1, ttl_seconds)))
        except redis.RedisError as error:
            self.breaker.failed()
            raise Unavailable("Replay protection unavailable") from error


class MemoryReplayGuard:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_sighting(self, key: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen[key] = now + ttl_seconds
            return True
