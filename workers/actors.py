"""Actor registration against a given broker, so tests and the embedded mode
can run the same actors on an in-process broker."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import dramatiq

from shared.platform.broker import (
    DISPATCH_ACTOR,
    DISPATCH_MANY_ACTOR,
    DISPATCH_QUEUE,
    FIRE_SCHEDULE_ACTOR,
    FIRE_SCHEDULES_ACTOR,
    SCHEDULE_QUEUE,
)
from shared.platform.db import transaction
from shared.platform.metrics import MISSED_TICKS, SCHEDULE_LAG
from shared.platform.runtime import Runtime
from shared.schedules.due import Due, Fired, PageFired, record_page
from workers.deciding import TRANSIENT, DecisionGroup, decide, summary

__all__ = ["TRANSIENT", "decide", "fire_page", "fire_tick", "register"]

log = logging.getLogger(__name__)

#: Dramatiq runs a worker's prefetched messages lowest priority first (default 0).
SCHEDULE_PRIORITY = -10


def fire_page(runtime: Runtime, page: list[Due]) -> PageFired:
    """Record the page's runs in one transaction, then have them decided, a batch per
    message, after commit."""
    grace = timedelta(seconds=runtime.settings.catch_up_grace_seconds)
    with transaction(runtime.sessions) as session:
        now = runtime.clock.now()
        fired = record_page(session, page=page, now=now, grace=grace)
    for one in fired.fired.values():
        _observe_ticks(one, now)
    if run_ids := fired.run_ids:
        runtime.enqueuer.dispatch_runs(run_ids)
    return fired


def fire_tick(runtime: Runtime, trigger_id: uuid.UUID, due_at: datetime) -> Fired:
    """One tick: a page of one."""
    return fire_page(runtime, [Due(trigger_id, due_at)]).fired.get(trigger_id, Fired(()))


def _observe_ticks(fired: Fired, now: datetime) -> None:
    for tick in fired.ticks:
        SCHEDULE_LAG.observe(max(0.0, (now - tick).total_seconds()))
    if fired.missed:
        MISSED_TICKS.labels(fired.policy, "dropped").inc(fired.missed)
    if fired.caught_up:
        MISSED_TICKS.labels(fired.policy, "caught_up").inc(fired.caught_up)


def register(runtime: Runtime) -> None:
    """Declare the actors on `runtime.broker`."""

    def dispatch_run_actor(run_id: str, request_id: str | None = None) -> None:
        # One run per message, as before batches: see `decide` for why no take-along.
        decision = decide(runtime, uuid.UUID(run_id))
        context = {"run_id": run_id, "request_id": request_id}
        log.info("run decided", extra={**context, "outcome": decision.outcome.value})

    group = DecisionGroup()

    def dispatch_runs_actor(run_ids: list[str], request_id: str | None = None) -> None:
        decisions = group.decide(runtime, [uuid.UUID(run_id) for run_id in run_ids])
        log.info("runs decided", extra={"request_id": request_id, "outcome": summary(decisions)})

    def fire_schedule_actor(trigger_id: str, due_at: str) -> None:
        fired = fire_tick(runtime, uuid.UUID(trigger_id), datetime.fromisoformat(due_at))
        if fired.run_ids or fired.missed:
            log.info(
                "schedule fired",
                extra={"trigger_id": trigger_id, "outcome": f"{len(fired.run_ids)} runs"},
            )

    def fire_schedules_actor(page: list[list[str]]) -> None:
        due = [Due(uuid.UUID(trigger_id), datetime.fromisoformat(at)) for trigger_id, at in page]
        fired = fire_page(runtime, due)
        runs = len(fired.run_ids)
        if runs or any(one.missed for one in fired.fired.values()):
            log.info("schedule page fired", extra={"outcome": f"{runs} runs"})

    broker = runtime.broker
    # Schedule pages jump a worker's queue: a page is one short transaction that bounds
    # the lag of up to 200 ticks, while a decision message may hold a thread for seconds.
    # Behind 200-run decision messages on every thread, 10,000 due ticks took 25 s to
    # record instead of a few.
    schedules: dict[str, Any] = {"priority": SCHEDULE_PRIORITY}
    actors: tuple[tuple[str, str, Callable[..., None], dict[str, Any]], ...] = (
        (DISPATCH_ACTOR, DISPATCH_QUEUE, dispatch_run_actor, {}),
        (DISPATCH_MANY_ACTOR, DISPATCH_QUEUE, dispatch_runs_actor, {}),
        (FIRE_SCHEDULE_ACTOR, SCHEDULE_QUEUE, fire_schedule_actor, schedules),
        (FIRE_SCHEDULES_ACTOR, SCHEDULE_QUEUE, fire_schedules_actor, schedules),
    )
    for name, queue, function, options in actors:
        dramatiq.actor(actor_name=name, queue_name=queue, broker=broker, **options)(function)
