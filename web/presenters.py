"""Rows to the JSON of the contract: camelCase keys, string ids, ISO UTC timestamps."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from shared.contract.timefmt import iso
from shared.contract.wire import camel, value
from shared.models import (
    ActivityEntry,
    Agent,
    AgentKey,
    BoardUser,
    Company,
    CompanyMembership,
    Goal,
    Issue,
    Project,
    Routine,
    RoutineTrigger,
)
from shared.routines.reading import RoutineDetail, RoutineListItem
from shared.routines.variables import shown
from shared.runs.reading import RunSummary
from shared.schedules.preview import FireTimes

Json = dict[str, Any]


def pick(row: object, fields: tuple[str, ...]) -> Json:
    return {camel(name): value(getattr(row, name)) for name in fields}


_STAMPS = ("created_at", "updated_at")
COMPANY = ("id", "name", "issue_prefix", *_STAMPS)
BOARD_USER = ("id", "name", "created_at")
MEMBERSHIP = ("id", "company_id", "user_id", "permissions", "created_at")
AGENT = ("id", "company_id", "name", "role", "title", "status", *_STAMPS)
AGENT_KEY = ("id", "agent_id", "name", "created_at", "revoked_at")
PROJECT = ("id", "company_id", "name", "description", "status", "paused_at", "pause_reason")
GOAL = ("id", "company_id", "title", "description", "status", *_STAMPS)
ISSUE = (
    "id",
    "company_id",
    "identifier",
    "title",
    "description",
    "status",
    "priority",
    "assignee_agent_id",
    "project_id",
    "goal_id",
    "parent_id",
    "origin_kind",
    "origin_id",
    "origin_run_id",
    "created_by_agent_id",
    "created_by_user_id",
    "execution_workspace_id",
    "execution_workspace_preference",
    "execution_workspace_settings",
    *_STAMPS,
    "completed_at",
    "cancelled_at",
)
ISSUE_BRIEF = ("id", "identifier", "title", "status", "priority", "updated_at")
_AUTHORS = (
    "created_by_agent_id",
    "created_by_user_id",
    "updated_by_agent_id",
    "updated_by_user_id",
)
ROUTINE = (
    "id",
    "company_id",
    "project_id",
    "goal_id",
    "parent_issue_id",
    "title",
    "description",
    "assignee_agent_id",
    "priority",
    "status",
    "concurrency_policy",
    "catch_up_policy",
    "variables",
    *_AUTHORS,
    "last_triggered_at",
    "last_enqueued_at",
    *_STAMPS,
)
TRIGGER = (
    "id",
    "company_id",
    "routine_id",
    "kind",
    "label",
    "enabled",
    "cron_expression",
    "timezone",
    "next_run_at",
    "last_fired_at",
    "public_id",
    "signing_mode",
    "replay_window_sec",
    "last_rotated_at",
    "previous_secret_expires_at",
    "last_result",
    *_AUTHORS,
    *_STAMPS,
)
TRIGGER_SUMMARY = (
    "id",
    "kind",
    "label",
    "enabled",
    "cron_expression",
    "timezone",
    "next_run_at",
    "last_fired_at",
    "last_result",
)
RUN = (
    "id",
    "company_id",
    "routine_id",
    "trigger_id",
    "source",
    "status",
    "triggered_at",
    "scheduled_for",
    "idempotency_key",
    "trigger_payload",
    "linked_issue_id",
    "coalesced_into_run_id",
    "replay_of_run_id",
    "failure_reason",
    "completed_at",
    *_STAMPS,
)
ACTIVITY = (
    "id",
    "company_id",
    "actor_type",
    "actor_id",
    "action",
    "entity_type",
    "entity_id",
    "details",
    "created_at",
)


def company(row: Company) -> Json:
    return pick(row, COMPANY)


def board_user(row: BoardUser) -> Json:
    return pick(row, BOARD_USER)


def membership(row: CompanyMembership) -> Json:
    return pick(row, MEMBERSHIP)


def agent(row: Agent) -> Json:
    return pick(row, AGENT)


def agent_key(row: AgentKey, token: str | None = None) -> Json:
    body = pick(row, AGENT_KEY)
    if token is not None:
        body["token"] = token
    return body


def project(row: Project) -> Json:
    return pick(row, (*PROJECT, *_STAMPS))


def goal(row: Goal) -> Json:
    return pick(row, GOAL)


def issue(row: Issue) -> Json:
    return pick(row, ISSUE)


def issue_brief(row: Issue | None) -> Json | None:
    return pick(row, ISSUE_BRIEF) if row is not None else None


def routine(row: Routine) -> Json:
    body = pick(row, ROUTINE)
    body["variables"] = shown(row.variables or [])
    return body


def trigger(row: RoutineTrigger) -> Json:
    return pick(row, TRIGGER)


def run_summary(summary: RunSummary) -> Json:
    body = pick(summary.run, RUN)
    body["linkedIssue"] = issue_brief(summary.linked_issue)
    t = summary.trigger
    body["trigger"] = _trigger_brief(t.id, t.kind, t.label) if t else None
    return body


def new_run(values: Mapping[str, Any], trigger_id: uuid.UUID, kind: str, label: str | None) -> Json:
    """A run just inserted, from the values it was inserted with (as run_summary shows
    it): the fire path builds no ORM object for it."""
    body = {camel(name): value(values.get(name)) for name in RUN}
    body["linkedIssue"] = None
    body["trigger"] = _trigger_brief(trigger_id, kind, label)
    return body


def _trigger_brief(trigger_id: uuid.UUID, kind: str, label: str | None) -> Json:
    return {"id": str(trigger_id), "kind": kind, "label": label}


def fire_times(times: FireTimes) -> Json:
    """A preview; a saved trigger's names it first."""
    body: Json = {"triggerId": str(times.trigger_id)} if times.trigger_id else {}
    body["cronExpression"] = times.cron_expression
    body["timezone"] = times.timezone
    body["times"] = [iso(t) for t in times.times]
    return body


def activity_entry(row: ActivityEntry) -> Json:
    return pick(row, ACTIVITY)


def routine_list_item(item: RoutineListItem) -> Json:
    body = routine(item.routine)
    body["triggers"] = [pick(t, TRIGGER_SUMMARY) for t in item.triggers]
    body["lastRun"] = run_summary(item.last_run) if item.last_run else None
    body["activeIssue"] = issue_brief(item.active_issue)
    return body


def routine_detail(detail: RoutineDetail) -> Json:
    body = routine(detail.routine)
    body["project"] = project(detail.project) if detail.project else None
    body["assignee"] = agent(detail.assignee) if detail.assignee else None
    body["parentIssue"] = issue(detail.parent_issue) if detail.parent_issue else None
    body["triggers"] = [trigger(t) for t in detail.triggers]
    body["recentRuns"] = [run_summary(s) for s in detail.recent_runs]
    body["activeIssue"] = issue(detail.active_issue) if detail.active_issue else None
    return body
