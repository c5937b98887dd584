"""The enumerations of the contract, named once: Literal types for the request bodies,
tuples where other code asks "is this one of them"."""

from __future__ import annotations

from typing import Literal, get_args

AgentStatus = Literal[
    "active",
    "paused",
    "idle",
    "running",
    "error",
    "pending_approval",
    "terminated",
]
IssueStatus = Literal["backlog", "todo", "in_progress", "in_review", "blocked", "done", "cancelled"]
ISSUE_STATUSES: tuple[IssueStatus, ...] = get_args(IssueStatus)
#: An execution issue in one of these is "live": it blocks coalesce/skip routines.
LIVE_ISSUE_STATUSES = ("backlog", "todo", "in_progress", "in_review", "blocked")
Priority = Literal["critical", "high", "medium", "low"]
RoutineStatus = Literal["active", "paused", "archived"]
ConcurrencyPolicy = Literal["coalesce_if_active", "skip_if_active", "always_enqueue"]
CatchUpPolicy = Literal["skip_missed", "enqueue_missed_with_cap"]
CATCH_UP_POLICIES: tuple[CatchUpPolicy, ...] = get_args(CatchUpPolicy)
TriggerKind = Literal["schedule", "webhook", "api"]
SigningMode = Literal["bearer", "hmac_sha256", "github_hmac", "standard_webhooks", "none"]
#: The sources a caller may name when firing by hand or by API.
CallerRunSource = Literal["manual", "api"]
Permission = Literal["tasks:assign"]
ROUTINE_EXECUTION = "routine_execution"
#: Who an activity entry says acted: a board user is a "user"; "system" is no caller.
ActorType = Literal["agent", "user", "admin", "system"]
#: What an activity entry is about; actions are `<entity type>.<verb>` strings.
EntityType = Literal["routine", "trigger", "run", "project", "agent", "agent_key"]
