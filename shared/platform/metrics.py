"""Every Prometheus metric of the service, named once (the README lists them).

Processes that fork several workers (gunicorn, dramatiq) set
PROMETHEUS_MULTIPROC_DIR before this module is imported, so that values from all
children are summed at scrape time; a single process (embedded, scheduler) uses
the default in-memory registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import dramatiq
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.platform.broker import QUEUES

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_LAG = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)

# web
HTTP_REQUESTS = Counter(
    "routines_http_requests_total",
    "HTTP requests by route template.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "routines_http_request_duration_seconds",
    "HTTP request latency.",
    ["route", "method"],
    buckets=_LATENCY,
)
FIRES_ACCEPTED = Counter(
    "routines_fires_accepted_total", "Firings recorded as new runs, by source.", ["source"]
)
SIGNATURE_FAILURES = Counter(
    "routines_webhook_signature_failures_total", "Webhook signature failures.", ["mode"]
)
RATE_LIMITED = Counter(
    "routines_rate_limited_total", "Public fire requests refused by a rate limit.", ["scope"]
)
# workers
RUNS_DECIDED = Counter(
    "routines_runs_decided_total", "Runs decided, by outcome and source.", ["outcome", "source"]
)
FIRE_TO_DECISION = Histogram(
    "routines_fire_to_decision_seconds",
    "From run recorded to run decided.",
    ["source"],
    buckets=_LATENCY,
)
DISPATCH_ERRORS = Counter(
    "routines_dispatch_errors_total", "Dispatches that raised (transient or not).", ["kind"]
)
SCHEDULE_LAG = Histogram(
    "routines_schedule_lag_seconds",
    "Schedule run recorded minus its scheduledFor.",
    buckets=_LAG,
)
MISSED_TICKS = Counter(
    "routines_missed_ticks_total",
    "Missed schedule ticks by catch-up policy and action.",
    ["policy", "action"],
)
# scheduler
SCHEDULER_LEADER = Gauge(
    "routines_scheduler_leader",
    "1 while this scheduler holds the lease.",
    ["holder"],
    multiprocess_mode="liveall",
)
DUE_BACKLOG = Gauge(
    "routines_scheduler_due_backlog",
    "Due schedule triggers seen by the last scan.",
    multiprocess_mode="liveall",
)
SWEEP_REENQUEUED = Counter(
    "routines_sweep_reenqueued_total", "Undecided runs put back on the queue by the sweep."
)
RUNS_EXPIRED = Counter(
    "routines_runs_expired_total", "Runs past ROUTINES_RUN_RETENTION_DAYS deleted by the scheduler."
)


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


class QueueDepthCollector(Collector):
    """Reads queue, delayed-queue and dead-letter depths from the broker at scrape time."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("routines_queue_depth", "Messages waiting.", labels=["queue"])
        delayed = GaugeMetricFamily(
            "routines_queue_delayed_depth", "Delayed messages waiting.", labels=["queue"]
        )
        dead = GaugeMetricFamily(
            "routines_queue_dead_letter_depth", "Dead-lettered messages.", labels=["queue"]
        )
        try:
            for queue, (ready, later, failed) in queue_depths(self.broker).items():
                depth.add_metric([queue], ready)
                delayed.add_metric([queue], later)
                dead.add_metric([queue], failed)
        except Exception:  # a scrape must not fail because the broker is away
            return
        yield from (depth, delayed, dead)


def queue_depths(broker: dramatiq.Broker) -> dict[str, tuple[int, int, int]]:
    """(ready, delayed, dead-lettered) per queue, for Redis and the in-process broker."""
    client: Any = getattr(broker, "client", None)
    if client is not None:
        ns = broker.namespace  # type: ignore[attr-defined]
        pipe = client.pipeline()
        for queue in QUEUES:
            pipe.llen(f"{ns}:{queue}")
            pipe.llen(f"{ns}:{queue}.DQ")
            pipe.zcard(f"{ns}:{queue}.XQ")
        counts = pipe.execute()
        return {
            q: (int(counts[i * 3]), int(counts[i * 3 + 1]), int(counts[i * 3 + 2]))
            for i, q in enumerate(QUEUES)
        }
    queues: Any = getattr(broker, "queues", {})
    dead: Any = getattr(broker, "dead_letters_by_queue", {})
    return {
        q: (
            queues[q].qsize() if q in queues else 0,
            queues[f"{q}.DQ"].qsize() if f"{q}.DQ" in queues else 0,
            len(dead.get(q, ())),
        )
        for q in QUEUES
    }


def exposition(broker: dramatiq.Broker | None = None) -> tuple[bytes, str]:
    """The text of a scrape, summed over processes when running multi-process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_ThisProcess())
    if broker is not None:
        registry.register(QueueDepthCollector(broker))
    return generate_latest(registry), CONTENT_TYPE_LATEST
