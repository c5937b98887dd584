"""Where the scheduler lease lives, so that others (the /ops page) can read it."""

from __future__ import annotations

from typing import Any

import redis

from shared.platform.settings import Settings


def lease_key(settings: Settings) -> str:
    return f"{settings.broker_namespace}:scheduler-leader"


def leader_status(settings: Settings, client: redis.Redis | None) -> dict[str, Any]:
    """Who holds the lease and for how much longer; never raises."""
    if client is None:
        return {"mode": "embedded", "holder": "this process", "ttlMs": None}
    try:
        holder = client.get(lease_key(settings))
        ttl = client.pttl(lease_key(settings))
    except redis.RedisError:
        return {"mode": "distributed", "holder": None, "ttlMs": None, "error": "redis unavailable"}
    return {
        "mode": "distributed",
        "holder": holder.decode() if isinstance(holder, bytes) else None,
        "ttlMs": int(ttl) if isinstance(ttl, int) and ttl >= 0 else None,
    }
