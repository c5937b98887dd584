"""The long-lived dependencies of a process, built once from Settings."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.broker import Enqueuer, build_broker
from shared.clock import Clock, SystemClock
from shared.db import make_engine, make_sessions
from shared.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: dramatiq.Broker
    enqueuer: Enqueuer
    clock: Clock


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
    )
