"""The leader lease: only the holder scans for due triggers.

A Redis lease (SET NX PX, renewed and released only by its owner through small Lua
scripts) rather than a PostgreSQL advisory lock: an advisory lock lives as long as
one database connection, so a leader cut off from the database could not tell it
lost the lock, and a pooled connection may silently be replaced. The lease expires
on its own a few ticks after the holder dies (SIGKILL included), and a holder that
fails to renew knows it at once and stops scanning. Correctness never depends on
it: the unique (trigger, scheduledFor) index and the compare-and-set on
next_run_at make two scanners harmless; the lease only saves the duplicate work.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

import redis

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease(Protocol):
    def hold(self) -> bool:
        """Acquire or renew; False means: do not scan this tick."""
        ...

    def release(self) -> None: ...


class AlwaysLeader:
    """The embedded mode has exactly one scheduler."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


class RedisLease:
    def __init__(self, client: redis.Redis, key: str, *, ttl_ms: int) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        self.owner = uuid.uuid4().hex
        self.leader = False

    def hold(self) -> bool:
        try:
            if self.leader:
                self.leader = bool(self.client.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms))
                if not self.leader:
                    log.warning("lost the scheduler lease")
            else:
                self.leader = bool(self.client.set(self.key, self.owner, nx=True, px=self.ttl_ms))
                if self.leader:
                    log.info("acquired the scheduler lease")
        except redis.RedisError:
            log.warning("scheduler lease unavailable; not scanning", exc_info=True)
            self.leader = False
        return self.leader

    def release(self) -> None:
        try:
            self.client.eval(_RELEASE, 1, self.key, self.owner)
        except redis.RedisError:
            log.warning("could not release the scheduler lease", exc_info=True)
        self.leader = False
