"""The enumerations of the contract, named once."""

from __future__ import annotations

AGENT_STATUSES = (
    "active",
    "paused",
    "idle",
    "running",
    "error",
    "pending_approval",
    "terminated",
)
ISSUE_STATUSES = ("backlog", "todo", "in_progress", "in_review", "blocked", "done", "cancelled")
#: An execution issue in one of these is "live": it blocks coalesce/skip routines.
LIVE_ISSUE_STATUSES = ("backlog", "todo", "in_progress", "in_review", "blocked")
PRIORITIES = ("critical", "high", "medium", "low")
ROUTINE_STATUSES = ("active", "paused", "archived")
CONCURRENCY_POLICIES = ("coalesce_if_active", "skip_if_active", "always_enqueue")
CATCH_UP_POLICIES = ("skip_missed", "enqueue_missed_with_cap")
TRIGGER_KINDS = ("schedule", "webhook", "api")
SIGNING_MODES = ("bearer", "hmac_sha256", "github_hmac", "none")
RUN_SOURCES = ("schedule", "webhook", "api", "manual")
RUN_STATUSES = ("received", "issue_created", "coalesced", "skipped", "completed", "failed")
PERMISSIONS = ("tasks:assign",)
ROUTINE_EXECUTION = "routine_execution"
