"""What becomes of one run (API.md section 6), as pure functions over what a batch read
under its locks, so that many runs are decided in Python without a query per run."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Outcome(enum.StrEnum):
    ISSUE_CREATED = "issue_created"
    COALESCED = "coalesced"
    SKIPPED = "skipped"
    FAILED = "failed"
    #: Another delivery of the same message got there first: nothing to do.
    ALREADY_DECIDED = "already_decided"
    MISSING = "missing"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    run_id: uuid.UUID
    issue_id: uuid.UUID | None = None
    source: str | None = None
    #: When the run was recorded, for the fire-to-decision latency.
    recorded_at: datetime | None = None


RESULT_CREATED = "Created execution issue {}"
RESULT_COALESCED = "Coalesced into an existing live execution issue"
RESULT_SKIPPED_LIVE = "Skipped because a live execution issue already exists"
RESULT_SKIPPED_PAUSED = "Skipped because the project is paused"
RESULT_FAILED = "Execution failed"


@dataclass(frozen=True, slots=True)
class RunState:
    """The columns of a run that deciding it reads; field names are column names."""

    id: uuid.UUID
    routine_id: uuid.UUID
    trigger_id: uuid.UUID | None
    source: str
    status: str
    failure_reason: str | None
    triggered_at: datetime
    scheduled_for: datetime | None
    variables: dict[str, Any] | None
    project_id_override: uuid.UUID | None
    assignee_agent_id_override: uuid.UUID | None
    requested_by_agent_id: uuid.UUID | None
    requested_by_user_id: uuid.UUID | None
    execution_workspace: dict[str, Any] | None
    linked_issue_id: uuid.UUID | None
    coalesced_into_run_id: uuid.UUID | None
    completed_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RoutineState:
    """The columns of a locked routine that deciding its runs reads."""

    id: uuid.UUID
    company_id: uuid.UUID
    project_id: uuid.UUID | None
    goal_id: uuid.UUID | None
    parent_issue_id: uuid.UUID | None
    title: str
    description: str | None
    assignee_agent_id: uuid.UUID | None
    priority: str
    status: str
    concurrency_policy: str
    last_enqueued_at: datetime | None

    def project_for(self, run: RunState) -> uuid.UUID | None:
        return run.project_id_override or self.project_id

    def assignee_for(self, run: RunState) -> uuid.UUID | None:
        return run.assignee_agent_id_override or self.assignee_agent_id


@dataclass(frozen=True, slots=True)
class TriggerState:
    id: uuid.UUID
    enabled: bool


@dataclass(frozen=True, slots=True)
class LiveIssue:
    """A routine's newest open execution issue, or the one a batch just created."""

    id: uuid.UUID
    origin_run_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What a run's decision depends on besides the run and its routine."""

    trigger: TriggerState | None
    project_paused: bool
    #: None when the run has no assignee or the agent no longer exists.
    assignee_status: str | None
    live: LiveIssue | None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str | None = None
    #: The trigger's `lastResult`; a skip without one says `Skipped: <reason>`.
    result: str | None = None
    #: The issue the run links to: the live one it joined, or the one made for it.
    issue: LiveIssue | None = None

    @property
    def trigger_result(self) -> str:
        return self.result or f"Skipped: {self.reason}"


#: The verdict that asks the caller to create an issue (see `created`).
CREATE = Verdict(Outcome.ISSUE_CREATED)


def failed(reason: str) -> Verdict:
    return Verdict(Outcome.FAILED, reason=reason, result=RESULT_FAILED)


def created(issue: LiveIssue) -> Verdict:
    return Verdict(Outcome.ISSUE_CREATED, result=RESULT_CREATED.format(issue.id), issue=issue)


def judge(run: RunState, routine: RoutineState, facts: Facts) -> Verdict:
    """The decision for a `received` run; `CREATE` means "make an issue for it"."""
    if run.failure_reason is not None:
        # Recorded with a problem it could not fire with (a schedule tick whose required
        # variables have no default): decided here, under the routine lock, like any run.
        return failed(run.failure_reason)
    stale = stale_reason(run, routine, facts.trigger)
    if stale is not None:
        return Verdict(Outcome.SKIPPED, reason=stale)
    if facts.project_paused:
        return Verdict(Outcome.SKIPPED, reason="paused", result=RESULT_SKIPPED_PAUSED)
    unassignable = unassignable_reason(facts.assignee_status)
    if unassignable is not None:
        return failed(unassignable)
    if facts.live is not None and routine.concurrency_policy != "always_enqueue":
        if routine.concurrency_policy == "coalesce_if_active":
            return Verdict(Outcome.COALESCED, result=RESULT_COALESCED, issue=facts.live)
        return Verdict(Outcome.SKIPPED, result=RESULT_SKIPPED_LIVE, issue=facts.live)
    return CREATE


def stale_reason(run: RunState, routine: RoutineState, trigger: TriggerState | None) -> str | None:
    """Things that changed between accepting the firing and deciding it."""
    if routine.status == "archived":
        return "Routine is archived"
    if run.trigger_id is not None and trigger is None:
        return "Routine trigger was deleted"
    if trigger is not None and not trigger.enabled:
        return "Routine trigger is not active"
    if run.source in ("schedule", "webhook") and routine.status != "active":
        return "Routine is not active"
    return None


def unassignable_reason(assignee_status: str | None) -> str | None:
    if assignee_status is None:
        return "Default agent required"
    if assignee_status in ("terminated", "pending_approval"):
        return f"Assignee agent is {assignee_status.replace('_', ' ')}"
    return None
