"""Helpers of the routine tests: the contract's routine fields and the calls that
create, change, read and list routines."""

from __future__ import annotations

from typing import Any

from devstack.api import Api

ROUTINE_FIELDS = {
    "id",
    "companyId",
    "projectId",
    "goalId",
    "parentIssueId",
    "title",
    "description",
    "assigneeAgentId",
    "priority",
    "status",
    "concurrencyPolicy",
    "catchUpPolicy",
    "variables",
    "createdByAgentId",
    "createdByUserId",
    "updatedByAgentId",
    "updatedByUserId",
    "lastTriggeredAt",
    "lastEnqueuedAt",
    "createdAt",
    "updatedAt",
}


def create(api: Api, company: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(f"/api/companies/{company['id']}/routines", body)


def patch(api: Api, routine: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.patch(f"/api/routines/{routine['id']}", body)


def stored(api: Api, routine: dict[str, Any]) -> dict[str, Any]:
    return api.ok("GET", f"/api/routines/{routine['id']}")


def listed(api: Api, company: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    return api.ok("GET", f"/api/companies/{company['id']}/routines{query}")
