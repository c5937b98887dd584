"""The Grafana dashboard: valid JSON model, and queries over the service's metrics only.

A query over a misspelt or renamed metric is valid PromQL and draws an empty panel, which
reads as "nothing happened". So every query must name only metrics the service exports,
and every exported metric must have a panel.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from k8s.checks.exported_metrics import exported_metrics
from k8s.manifests import DASHBOARD, Manifest, rel

DASHBOARD_SCHEMA_VERSION = 39

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
    families = exported_metrics()
    allowed = {name for family in families for name in family.samples}
    used: set[str] = set()
    queries = 0
    for label, expr in _expressions(model, panels):
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"{where}: {label}: a query has no expr")
            continue
        queries += 1
        names = metric_names(expr)
        unknown = sorted(names - allowed)
        if unknown:
            problems.append(f"{where}: {label}: unknown metric(s) {', '.join(unknown)}")
        if not names & allowed:
            problems.append(f"{where}: {label}: query uses none of the service's metrics")
        used |= names
    unused = sorted(family.main_sample for family in families if not family.samples & used)
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
