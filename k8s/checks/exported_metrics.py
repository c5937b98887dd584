"""The metrics the service exports, read from the registries its processes build.

The dashboard check compares every query with these names, so no list of metric names is
kept here in step with shared/platform/metrics.py: a metric added, renamed or removed there changes
at once what the dashboard may and must show. Building the registries connects nowhere:
the queue-depth collector reads a stub broker.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.prometheus import Prometheus
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from shared.platform.metrics import QueueDepthCollector

SERVICE_SOURCE = "shared/platform/metrics.py"
DRAMATIQ_SOURCE = "Dramatiq's Prometheus middleware"
#: The service's own metrics; the default registry also holds the process_* and python_*
#: metrics that prometheus_client adds to every process, which are not the service's.
SERVICE_PREFIX = "routines_"
#: The samples Prometheus scrapes for a metric of each type ("": the bare name), first the
#: one a panel usually queries. `_created` is left out: no panel has a use for it.
_SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
}


@dataclass(frozen=True)
class MetricFamily:
    """One metric as its registry describes it (a counter's name without `_total`)."""

    name: str
    type: str
    source: str

    @property
    def samples(self) -> frozenset[str]:
        """The names a query may use for it; none for a type whose names are not known."""
        return frozenset(self.name + suffix for suffix in _SAMPLE_SUFFIXES.get(self.type, ()))

    @property
    def main_sample(self) -> str:
        """The name a panel usually queries: a counter's _total, a histogram's _bucket."""
        return self.name + _SAMPLE_SUFFIXES.get(self.type, ("",))[0]


@functools.cache
def exported_metrics() -> tuple[MetricFamily, ...]:
    """Every metric the service's processes export: their own, then Dramatiq's."""
    return (*service_metrics(), *dramatiq_metrics())


def service_metrics() -> list[MetricFamily]:
    """What shared.platform.metrics.exposition() collects: the default registry, where
    shared/platform/metrics.py registers its metrics, and the queue-depth collector."""
    collected = [*REGISTRY.collect(), *QueueDepthCollector(StubBroker(middleware=[])).collect()]
    return [
        MetricFamily(family.name, family.type, SERVICE_SOURCE)
        for family in collected
        if family.name.startswith(SERVICE_PREFIX)
    ]


def dramatiq_metrics() -> list[MetricFamily]:
    """What Dramatiq's Prometheus middleware registers when a worker process boots; the
    worker's /metrics serves them with the service's own (see workers/main.py)."""
    middleware = Prometheus()
    with _environment_restored():  # the boot points prometheus_client at its directory
        middleware.after_process_boot(StubBroker(middleware=[]))  # type: ignore[no-untyped-call]
    return [
        MetricFamily(family.name, family.type, DRAMATIQ_SOURCE)
        for metric in vars(middleware).values()
        if isinstance(metric, MetricWrapperBase)
        for family in metric.describe()
    ]


@contextmanager
def _environment_restored() -> Iterator[None]:
    saved = os.environ.copy()
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        os.environ.update(saved)


def check_metrics_defined() -> list[str]:
    """Both registries gave metrics, each of a type whose sample names are known; else the
    dashboard check would compare the queries with nothing, or with the wrong names."""
    families = exported_metrics()
    problems = [
        f"{source}: no metric found (k8s/checks/exported_metrics.py reads it wrongly?)"
        for source in (SERVICE_SOURCE, DRAMATIQ_SOURCE)
        if not any(family.source == source for family in families)
    ]
    problems.extend(
        f"{family.source}: metric {family.name} is a {family.type}, whose sample names "
        "k8s/checks/exported_metrics.py does not know"
        for family in families
        if not family.samples
    )
    return problems
