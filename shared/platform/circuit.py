"""Failing fast while a dependency does not answer.

A Redis that is partitioned away (or frozen) accepts connections and never replies,
so every call waits out its socket timeout; on the request path that holds a web
thread per call, the threads run out and every request queues, including those
that need no Redis at all. After a failure, a `Breaker` refuses calls at once for a
short cooldown, then lets them try again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Seconds during which a dependency that just failed is not called again.
COOLDOWN_SECONDS = 3.0


class Breaker:
    def __init__(
        self, cooldown: float = COOLDOWN_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cooldown = cooldown
        self._clock = clock
        self._open_until = 0.0

    def allows(self) -> bool:
        """False while cooling down after a failure: fail at once, do not call."""
        return self._clock() >= self._open_until

    def failed(self) -> None:
        self._open_until = self._clock() + self.cooldown
