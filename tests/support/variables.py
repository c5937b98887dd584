"""Helpers of the variable tests: routines with variables, their runs and what a run
renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from devstack.api import Api, Response, World, make_world
from shared.platform.runtime import Runtime

Defs = list[dict[str, Any]]
SCHEDULE = {"kind": "schedule", "cronExpression": "0 9 * * *"}


def run_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM routine_runs")).scalar_one())


def create(api: Api, world: World, **fields: Any) -> Response:
    body = {"title": "Report", "assigneeAgentId": world.agent["id"], **fields}
    return api.post(f"/api/companies/{world.company['id']}/routines", body)


def routine_with(api: Api, title: str, variables: Defs | None = None, **fields: Any) -> World:
    return make_world(api, title=title, variables=variables or [], **fields)


def run(api: Api, routine: dict[str, Any], **body: Any) -> Response:
    return api.post(f"/api/routines/{routine['id']}/run", body)


def rendered_title(api: Api, drain: Callable[[], None], run_id: str) -> str:
    drain()
    decided = api.ok("GET", f"/api/routine-runs/{run_id}")
    assert decided["status"] == "issue_created", decided
    return str(decided["linkedIssue"]["title"])


def add_trigger(api: Api, routine: dict[str, Any], **body: Any) -> Response:
    return api.post(f"/api/routines/{routine['id']}/triggers", body)


def names(variables: Defs) -> list[str]:
    return [v["name"] for v in variables]
