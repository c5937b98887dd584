"""The long-lived dependencies of a process, built once from Settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dramatiq
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.broker import Enqueuer, build_broker
from shared.clock import Clock, SystemClock
from shared.db import make_engine, make_sessions
from shared.errors import Unavailable
from shared.ratelimit import Counter, MemoryCounter, RedisCounter
from shared.replay import MemoryReplayGuard, RedisReplayGuard, ReplayGuard
from shared.secrets_box import SecretBox
from shared.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    enqueuer: Enqueuer
    clock: Clock
    replay: ReplayGuard
    rate_counter: Counter

    @functools.cached_property
    def box(self) -> SecretBox:
        """Encrypts webhook secrets; a process that never stores one never needs the key."""
        if not self.settings.secret_keys:
            raise Unavailable("ROUTINES_SECRET_KEY is not configured")
        return SecretBox(*self.settings.secret_keys)


def build_runtime(
    settings: Settings, *, broker: dramatiq.Broker | None = None, clock: Clock | None = None
) -> Runtime:
    engine = make_engine(settings)
    broker = broker or build_broker(settings)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessions(engine),
        broker=broker,
        enqueuer=Enqueuer(broker),
        clock=clock or SystemClock(),
        replay=_replay_guard(settings),
        rate_counter=_rate_counter(settings),
    )


def _replay_guard(settings: Settings) -> ReplayGuard:
    if not settings.redis_url:
        return MemoryReplayGuard()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    return RedisReplayGuard(client, settings.broker_namespace)


def _rate_counter(settings: Settings) -> Counter:
    if not settings.redis_url:
        return MemoryCounter()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    return RedisCounter(client, settings.broker_namespace)
