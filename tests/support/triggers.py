"""Helpers of the trigger tests (tests/integration/triggers/): the contract's trigger
fields and the calls that create, change and list triggers of a routine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devstack.api import Api, Response, World

NOW = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # a Monday
TRIGGER_FIELDS = {
    "id",
    "companyId",
    "routineId",
    "kind",
    "label",
    "enabled",
    "cronExpression",
    "timezone",
    "nextRunAt",
    "lastFiredAt",
    "publicId",
    "signingMode",
    "replayWindowSec",
    "lastRotatedAt",
    "previousSecretExpiresAt",
    "lastResult",
    "createdByAgentId",
    "createdByUserId",
    "updatedByAgentId",
    "updatedByUserId",
    "createdAt",
    "updatedAt",
}
SCHEDULE = {"kind": "schedule", "cronExpression": "0 9 * * *"}
NOT_FOUND = "Routine trigger not found"


def add(api: Api, world: World, **body: Any) -> Response:
    return api.post(f"/api/routines/{world.routine['id']}/triggers", body)


def added(api: Api, world: World, **body: Any) -> dict[str, Any]:
    response = add(api, world, **body)
    assert response.status == 201, response.body
    return dict(response.body["trigger"])


def patch(api: Api, trigger: dict[str, Any], body: dict[str, Any]) -> Response:
    return api.patch(f"/api/routine-triggers/{trigger['id']}", body)


def listed(api: Api, world: World) -> list[dict[str, Any]]:
    return list(api.ok("GET", f"/api/routines/{world.routine['id']}")["triggers"])


def problem_paths(response: Response) -> list[list[Any]]:
    return [d["path"] for d in response.body["details"]]
