"""Variable values at a firing: request, payload, webhook body, defaults, built-ins."""

from __future__ import annotations

from typing import Any

from shared.models import Routine, RoutineRun
from shared.timefmt import iso


def resolve_values(routine: Routine, run: RoutineRun) -> dict[str, Any]:
    """Highest first: the request's variables, payload.variables, the webhook body's
    top-level keys, the definition's default; then the built-ins."""
    values: dict[str, Any] = {}
    for definition in routine.variables or []:
        if isinstance(definition, dict) and "defaultValue" in definition:
            values[str(definition.get("name"))] = definition["defaultValue"]
    payload = run.trigger_payload if isinstance(run.trigger_payload, dict) else {}
    if run.source == "webhook":
        values.update(payload)
    if isinstance(payload.get("variables"), dict):
        values.update(payload["variables"])
    values.update(run.variables or {})
    values.update(builtins(run))
    return values


def builtins(run: RoutineRun) -> dict[str, str]:
    fired = run.triggered_at
    return {
        "date": fired.strftime("%Y-%m-%d"),
        "timestamp": iso(fired),
        "scheduledFor": iso(run.scheduled_for or fired),
    }
