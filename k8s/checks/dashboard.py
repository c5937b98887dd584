"""The Grafana dashboard: valid JSON model, and queries over the service's metrics only.

A query over a misspelt or renamed metric is valid PromQL and draws an empty panel, which
reads as "nothing happened". So every query must name only metrics the service exports,
and every exported metric must have a panel.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path

from k8s.checks.environment import SERVICE_PACKAGES
from k8s.manifests import DASHBOARD, REPO_DIR, Manifest, rel

DASHBOARD_SCHEMA_VERSION = 39

#: The metric names that the dashboard may use (shared/platform/metrics.py and Dramatiq's own).
METRICS = frozenset(
    {
        "routines_http_requests_total",
        "routines_http_request_duration_seconds_bucket",
        "routines_fires_accepted_total",
        "routines_webhook_signature_failures_total",
        "routines_rate_limited_total",
        "routines_runs_decided_total",
        "routines_fire_to_decision_seconds_bucket",
        "routines_dispatch_errors_total",
        "routines_queue_depth",
        "routines_queue_delayed_depth",
        "routines_queue_dead_letter_depth",
        "routines_scheduler_leader",
        "routines_scheduler_due_backlog",
        "routines_schedule_lag_seconds_bucket",
        "routines_missed_ticks_total",
        "routines_sweep_reenqueued_total",
        "dramatiq_messages_total",
        "dramatiq_message_errors_total",
        "dramatiq_message_duration_milliseconds_bucket",
        "dramatiq_message_retries_total",
        "dramatiq_message_rejects_total",
        "dramatiq_messages_inprogress",
        "dramatiq_delayed_messages_inprogress",
    }
)
#: A histogram's _bucket comes with its _sum and _count.
_ALLOWED_METRICS = METRICS | {
    m.removesuffix("_bucket") + suffix
    for m in METRICS
    if m.endswith("_bucket")
    for suffix in ("_sum", "_count")
}
_METRIC_TOKEN = re.compile(r"\b(?:routines|dramatiq)_[a-zA-Z0-9_:]*")
_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")


def metric_names(expr: str) -> set[str]:
    """The routines_* and dramatiq_* names of a PromQL expression (quoted text ignored)."""
    return set(_METRIC_TOKEN.findall(_QUOTED.sub('""', expr)))


def check_dashboard(path: Path = DASHBOARD) -> tuple[list[str], int, int]:
    """(problems, panels, queries) of the Grafana dashboard JSON model."""
    where = rel(path)
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"{where}: not valid JSON: {error}"], 0, 0
    problems: list[str] = []
    if model.get("schemaVersion") != DASHBOARD_SCHEMA_VERSION:
        problems.append(f"{where}: schemaVersion is not {DASHBOARD_SCHEMA_VERSION}")
    for key in ("title", "uid", "panels"):
        if not model.get(key):
            problems.append(f"{where}: no {key}")
    panels = list(_panels(model.get("panels") or []))
    ids = [panel.get("id") for panel in panels]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append(f"{where}: panel ids are missing or not unique")
    used: set[str] = set()
    queries = 0
    for label, expr in _expressions(model, panels):
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"{where}: {label}: a query has no expr")
            continue
        queries += 1
        names = metric_names(expr)
        unknown = sorted(names - _ALLOWED_METRICS)
        if unknown:
            problems.append(f"{where}: {label}: unknown metric(s) {', '.join(unknown)}")
        if not names & _ALLOWED_METRICS:
            problems.append(f"{where}: {label}: query uses none of the service's metrics")
        used |= {name.removesuffix("_sum").removesuffix("_count") for name in names}
        used |= names
    unused = sorted(m for m in METRICS if m not in used and m.removesuffix("_bucket") not in used)
    if unused:
        problems.append(f"{where}: no panel shows {', '.join(unused)}")
    return problems, len(panels), queries


def _panels(panels: list[Manifest]) -> Iterator[Manifest]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def _expressions(model: Manifest, panels: list[Manifest]) -> list[tuple[str, object]]:
    """(where, PromQL) of every panel target and every query variable."""
    expressions: list[tuple[str, object]] = [
        (f"panel {panel.get('title')!r}", target.get("expr"))
        for panel in panels
        if panel.get("type") != "row"
        for target in panel.get("targets") or [{}]
    ]
    for variable in (model.get("templating") or {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            expressions.append((f"variable {variable.get('name')!r}", text))
    return expressions


def check_metrics_defined() -> list[str]:
    """Every metric of METRICS is defined by the service's code or Dramatiq's middleware."""
    sources = [p for package in SERVICE_PACKAGES for p in (REPO_DIR / package).rglob("*.py")]
    spec = importlib.util.find_spec("dramatiq.middleware.prometheus")
    if spec is not None and spec.origin:
        sources.append(Path(spec.origin))
    defined: set[str] = set()
    for source in sources:
        defined.update(
            re.findall(r"[\"']((?:routines|dramatiq)_[a-z0-9_]+)[\"']", source.read_text("utf-8"))
        )
    return [
        f"k8s/checks/dashboard.py: metric {metric} is defined nowhere in the code (renamed?)"
        for metric in sorted(METRICS)
        if metric.removesuffix("_bucket") not in defined
    ]
