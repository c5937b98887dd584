"""Redis clients, built in one place with the timeouts chosen once.

Every Redis call of the service sits on a path that has a fallback (an enqueue is
repeated by the sweep, a rate limit or a `Prefer: wait` falls back, the scheduler's
lease is renewed on its next tick), so waiting long for a Redis that does not answer
gains nothing: a second is enough for a healthy Redis and bounds what a sick one costs.
dramatiq polls and never blocks on Redis, so no call needs a longer timeout.
"""

from __future__ import annotations

import redis

#: Connect and socket timeouts of every client (seconds).
TIMEOUT_SECONDS = 1.0


def redis_client(url: str) -> redis.Redis:
    """A client (a thread-safe connection pool) for `url`; connects on first use."""
    return redis.Redis.from_url(
        url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
    )
