"""The long-lived dependencies of a process, built once from Settings."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import dramatiq
import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.contract.errors import Unavailable
from shared.platform.broker import Enqueuer, build_broker
from shared.platform.clock import Clock, SystemClock
from shared.platform.db import autocommit_engine, make_engine, make_sessions
from shared.platform.redis_client import redis_client
from shared.platform.secrets_box import SecretBox
from shared.platform.settings import Settings
from shared.runs.dispatch_batch import DispatchBatcher
from shared.runs.waiting import DecisionBoard, RedisDecisionBoard
from shared.webhooks.hooks import HookCache
from shared.webhooks.ratelimit import Counter, MemoryCounter, RedisCounter


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    #: Each statement its own transaction, for the webhook fire
    #: (shared.platform.db.autocommit_engine).
    autocommit: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    enqueuer: Enqueuer
    clock: Clock
    rate_counter: Counter
    #: Decisions announced by workers, awaited by `Prefer: wait` requests.
    decisions: DecisionBoard
    #: The one Redis client (a connection pool) of the process; None in the embedded mode.
    redis: redis.Redis | None = None

    def close(self) -> None:
        """Close the pools' connections (a process that ends, a test that is done)."""
        self.engine.dispose()
        if self.autocommit is not self.engine:
            self.autocommit.dispose()

    @functools.cached_property
    def dispatch_batcher(self) -> DispatchBatcher:
        """Webhook runs sent to the workers a few at a time (distributed mode only: the
        embedded mode's in-process broker costs nothing per message)."""
        linger = self.settings.enqueue_linger_ms / 1000 if self.settings.redis_url else 0.0
        return DispatchBatcher(self.enqueuer, linger)

    @functools.cached_property
    def hooks(self) -> HookCache | None:
        """The webhook triggers this process fired recently (shared.webhooks.hooks); none
        on SQLite, whose fires always look up."""
        return HookCache() if self.autocommit.dialect.name == "postgresql" else None

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
    client = redis_client(settings.redis_url) if settings.redis_url else None
    broker = broker or build_broker(settings, client=client)
    return Runtime(
        settings=settings,
        engine=engine,
        autocommit=autocommit_engine(settings, engine),
        sessions=make_sessions(engine),
        broker=broker,
        enqueuer=Enqueuer(broker),
        clock=clock or SystemClock(),
        rate_counter=_rate_counter(settings, client),
        decisions=_decision_board(settings, client),
        redis=client,
    )


def _rate_counter(settings: Settings, client: redis.Redis | None) -> Counter:
    if client is None:
        return MemoryCounter()
    return RedisCounter(client, settings.broker_namespace)


def _decision_board(settings: Settings, client: redis.Redis | None) -> DecisionBoard:
    if client is None:
        return DecisionBoard(settings.wait_max_waiters)
    return RedisDecisionBoard(client, settings.broker_namespace, settings.wait_max_waiters)
