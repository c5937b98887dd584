"""The message broker: Redis in the distributed mode, in-process in the embedded one.

web/ and scheduler/ enqueue by actor name through `Enqueuer`, so they never import
workers/; workers/ registers actors under the same names.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import dramatiq
import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from shared.platform.circuit import Breaker
from shared.platform.redis_client import redis_client
from shared.platform.settings import Settings

log = logging.getLogger(__name__)

DISPATCH_QUEUE = "runs"
DISPATCH_ACTOR = "dispatch_run"
#: One message for many runs: workers decide them together (see workers/actors.py).
DISPATCH_MANY_ACTOR = "dispatch_runs"
SCHEDULE_QUEUE = "schedules"
#: One due tick; still registered so that messages queued before an upgrade are handled,
#: and still sent for a page of one, which every worker version reads.
FIRE_SCHEDULE_ACTOR = "fire_schedule"
#: A page of due ticks, [[trigger_id, due_at_iso], ...]: recorded in one transaction.
FIRE_SCHEDULES_ACTOR = "fire_schedules"
QUEUES = (DISPATCH_QUEUE, SCHEDULE_QUEUE)

#: Per-message time limit: a dispatch is a few queries, so a minute means something is stuck.
TIME_LIMIT_MS = 60_000
#: Transient failures (database away) are retried with backoff up to this many times.
MAX_RETRIES = 20
#: Most run ids one dispatch message carries: big enough that a page of schedule ticks
#: is a handful of messages, small enough that one message is a short transaction.
DISPATCH_BATCH = 200


def build_broker(settings: Settings, *, client: redis.Redis | None = None) -> dramatiq.Broker:
    """The broker; in the distributed mode on `client` (built from the settings if None)."""
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(max_retries=MAX_RETRIES, min_backoff=200, max_backoff=30_000),
    ]
    broker: dramatiq.Broker
    if settings.redis_url:
        # dramatiq builds its connection pool from `url` alone and drops socket options
        # passed next to it, so it is given a client that has the timeouts.
        broker = ReturningRedisBroker(  # type: ignore[no-untyped-call]
            client=client or redis_client(settings.redis_url),
            namespace=settings.broker_namespace,
            heartbeat_timeout=settings.broker_heartbeat_timeout_ms,
            middleware=middleware,
        )
    else:
        broker = StubBroker(middleware=middleware)
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


class PrefetchReturningConsumer(_RedisConsumer):
    """dramatiq's Redis consumer moves up to `prefetch` messages into its ack set at once
    and hands them to the worker threads from a list in memory. Stopped between a fetch
    and the last hand-out, it left the rest in the ack set, where only the heartbeat
    timeout (a minute) returned them to the queue for another worker: a graceful stop
    delayed those runs. Closing gives them back at once, as dramatiq does for the messages
    its threads had not started (dramatiq_sqs closed the same gap in its consumer)."""

    def close(self) -> None:
        cached, self.message_cache = self.message_cache, []
        returned = [MessageProxy(Message.decode(data)) for data in cached if data is not None]
        self.requeue(returned)  # type: ignore[no-untyped-call]
        super().close()


class ReturningRedisBroker(RedisBroker):
    """dramatiq's RedisBroker with PrefetchReturningConsumer."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return PrefetchReturningConsumer


class Enqueuer:
    """Sends messages by actor name; a broker failure is logged, not raised, because
    the run is already durable and the scheduler's sweep will enqueue it again. After
    a failure the broker is not tried for a few seconds, so that fires keep answering
    at once while it is away."""

    def __init__(self, broker: dramatiq.Broker, breaker: Breaker | None = None) -> None:
        self.broker = broker
        self.breaker = breaker or Breaker()

    def dispatch_run(self, run_id: uuid.UUID, *, request_id: str | None = None) -> bool:
        return self._send(DISPATCH_QUEUE, DISPATCH_ACTOR, (str(run_id),), request_id)

    def dispatch_runs(self, run_ids: Sequence[uuid.UUID], *, request_id: str | None = None) -> bool:
        """Messages of up to DISPATCH_BATCH runs each; True only if every one was sent."""
        sent = True
        for start in range(0, len(run_ids), DISPATCH_BATCH):
            chunk = [str(run_id) for run_id in run_ids[start : start + DISPATCH_BATCH]]
            sent = self._send(DISPATCH_QUEUE, DISPATCH_MANY_ACTOR, (chunk,), request_id) and sent
        return sent

    def fire_schedule(self, trigger_id: uuid.UUID, due_at_iso: str) -> bool:
        args = (str(trigger_id), due_at_iso)
        return self._send(SCHEDULE_QUEUE, FIRE_SCHEDULE_ACTOR, args, None)

    def fire_schedules(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> bool:
        """One message for the page; a page of one goes as the single-tick message."""
        if len(pairs) == 1:
            return self.fire_schedule(*pairs[0])
        page = [[str(trigger_id), due_at_iso] for trigger_id, due_at_iso in pairs]
        return self._send(SCHEDULE_QUEUE, FIRE_SCHEDULES_ACTOR, (page,), None)

    def _send(
        self, queue: str, actor: str, args: tuple[object, ...], request_id: str | None
    ) -> bool:
        if not self.breaker.allows():
            return False
        kwargs = {"request_id": request_id} if request_id else {}
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=queue, actor_name=actor, args=args, kwargs=kwargs, options={}
        )
        try:
            self.broker.enqueue(message)
        except Exception:
            self.breaker.failed()
            log.warning(
                "broker enqueue failed; the sweep will retry",
                extra={"actor": actor, "message_args": list(args)},
                exc_info=True,
            )
            return False
        return True
