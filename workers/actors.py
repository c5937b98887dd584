"""Actor registration against a given broker, so tests and the embedded mode
can run the same actors on an in-process broker."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import dramatiq

from shared.broker import (
    DISPATCH_ACTOR,
    DISPATCH_MANY_ACTOR,
    DISPATCH_QUEUE,
    FIRE_SCHEDULE_ACTOR,
    SCHEDULE_QUEUE,
)
from shared.db import transaction
from shared.metrics import MISSED_TICKS, SCHEDULE_LAG
from shared.runtime import Runtime
from shared.services.schedules import Fired, fire_schedule
from workers.deciding import TRANSIENT, decide, decide_many, summary

__all__ = ["TRANSIENT", "decide", "fire_tick", "register"]

log = logging.getLogger(__name__)


def fire_tick(runtime: Runtime, trigger_id: uuid.UUID, due_at: datetime) -> Fired:
    """Record the tick's runs in one transaction, then have each decided."""
    grace = timedelta(seconds=runtime.settings.catch_up_grace_seconds)
    with transaction(runtime.sessions) as session:
        now = runtime.clock.now()
        fired = fire_schedule(session, trigger_id=trigger_id, due_at=due_at, now=now, grace=grace)
    for tick in fired.ticks:
        SCHEDULE_LAG.observe(max(0.0, (now - tick).total_seconds()))
    if fired.missed:
        MISSED_TICKS.labels(fired.policy, "dropped").inc(fired.missed)
    if fired.caught_up:
        MISSED_TICKS.labels(fired.policy, "caught_up").inc(fired.caught_up)
    for run_id in fired.run_ids:
        runtime.enqueuer.dispatch_run(run_id)
    return fired


def register(runtime: Runtime) -> None:
    """Declare the actors on `runtime.broker`."""

    def dispatch_run_actor(run_id: str, request_id: str | None = None) -> None:
        # One run per message, as before batches: see `decide` for why no take-along.
        decision = decide(runtime, uuid.UUID(run_id))
        context = {"run_id": run_id, "request_id": request_id}
        log.info("run decided", extra={**context, "outcome": decision.outcome.value})

    def dispatch_runs_actor(run_ids: list[str], request_id: str | None = None) -> None:
        decisions = decide_many(runtime, [uuid.UUID(run_id) for run_id in run_ids])
        log.info("runs decided", extra={"request_id": request_id, "outcome": summary(decisions)})

    def fire_schedule_actor(trigger_id: str, due_at: str) -> None:
        fired = fire_tick(runtime, uuid.UUID(trigger_id), datetime.fromisoformat(due_at))
        if fired.run_ids or fired.missed:
            log.info(
                "schedule fired",
                extra={"trigger_id": trigger_id, "outcome": f"{len(fired.run_ids)} runs"},
            )

    broker = runtime.broker
    dramatiq.actor(actor_name=DISPATCH_ACTOR, queue_name=DISPATCH_QUEUE, broker=broker)(
        dispatch_run_actor
    )
    dramatiq.actor(actor_name=DISPATCH_MANY_ACTOR, queue_name=DISPATCH_QUEUE, broker=broker)(
        dispatch_runs_actor
    )
    dramatiq.actor(actor_name=FIRE_SCHEDULE_ACTOR, queue_name=SCHEDULE_QUEUE, broker=broker)(
        fire_schedule_actor
    )
