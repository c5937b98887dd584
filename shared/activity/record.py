"""Writing one activity entry: the one function every mutation calls, after its change
and before its entry point commits, so a rolled-back change leaves no entry."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared.contract.vocabulary import ActorType, EntityType
from shared.contract.wire import camel, value
from shared.models import (
    ActivityEntry,
    Agent,
    AgentKey,
    Project,
    Routine,
    RoutineRun,
    RoutineTrigger,
)
from shared.routines.variables import shown
from shared.tenancy.auth import Principal

Snapshot = dict[str, Any]

#: The entity type of each model an entry can be about.
ENTITY_TYPES: dict[type, EntityType] = {
    Routine: "routine",
    RoutineTrigger: "trigger",
    RoutineRun: "run",
    Project: "project",
    Agent: "agent",
    AgentKey: "agent_key",
}
#: The columns whose old and new values an entry names. Never a secret, a token hash or
#: a run's payload: `secret_id`, `public_id`, `token_hash`, `trigger_payload` stay out.
TRACKED: dict[EntityType, tuple[str, ...]] = {
    "routine": (
        "title",
        "description",
        "assignee_agent_id",
        "project_id",
        "goal_id",
        "parent_issue_id",
        "priority",
        "status",
        "concurrency_policy",
        "catch_up_policy",
        "variables",
    ),
    "trigger": (
        "routine_id",
        "kind",
        "label",
        "enabled",
        "cron_expression",
        "timezone",
        "signing_mode",
        "replay_window_sec",
        "last_rotated_at",
    ),
    "run": ("routine_id", "trigger_id", "source", "idempotency_key", "replay_of_run_id"),
    "project": ("name", "description", "status", "paused_at", "pause_reason"),
    "agent": ("name", "role", "title", "status"),
    "agent_key": ("agent_id", "name", "revoked_at"),
}


def record_activity(
    session: Session,
    *,
    company_id: uuid.UUID,
    actor: Principal | None,
    action: str,
    entity_type: EntityType,
    entity_id: uuid.UUID,
    details: Mapping[str, Any],
    now: datetime,
) -> ActivityEntry:
    """`action` is `<entity type>.<verb>` (`routine.updated`); `actor` None is the system.
    `details` must never hold a secret or a token hash: callers pass `changes(...)` of
    the fields they name, and no secret is among them."""
    actor_type, actor_id = actor_of(actor)
    entry = ActivityEntry(
        id=sortable_id(),
        company_id=company_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        details=dict(details),
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def record_change(
    session: Session,
    *,
    actor: Principal | None,
    verb: str,
    row: Any,
    before: Snapshot | None,
    now: datetime,
    deleted: bool = False,
) -> ActivityEntry:
    """The entry for a change to `row`: action `<entity type>.<verb>`, details the tracked
    fields that differ from `before` (None: it was just created; `deleted`: it is gone)."""
    entity_type = ENTITY_TYPES[type(row)]
    empty = snapshot(None, TRACKED[entity_type])
    after = empty if deleted else tracked(row)
    return record_activity(
        session,
        company_id=row.company_id,
        actor=actor,
        action=f"{entity_type}.{verb}",
        entity_type=entity_type,
        entity_id=row.id,
        details=changes(empty if before is None else before, after),
        now=now,
    )


def tracked(row: Any) -> Snapshot:
    """The tracked fields of `row` now: take it before a change, pass it as `before`."""
    values = snapshot(row, TRACKED[ENTITY_TYPES[type(row)]])
    if values.get("variables") is not None:
        values["variables"] = shown(values["variables"])
    return values


def actor_of(principal: Principal | None) -> tuple[ActorType, uuid.UUID | None]:
    if principal is None:
        return "system", None
    if principal.kind == "agent":
        return "agent", principal.agent_id
    if principal.kind == "board":
        return "user", principal.user_id
    return "admin", None


def snapshot(row: object | None, fields: tuple[str, ...]) -> Snapshot:
    """The named columns of `row` as JSON under their API names; no row is all None."""
    return {camel(name): value(getattr(row, name) if row else None) for name in fields}


def changes(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """`{"changes": {field: {"old", "new"}}}` for the fields whose value differs."""
    differ = {
        name: {"old": before.get(name), "new": value}
        for name, value in after.items()
        if before.get(name) != value
    }
    return {"changes": differ}


_lock = threading.Lock()
_last = 0


def sortable_id() -> uuid.UUID:
    """A UUIDv7-shaped id: milliseconds first, then a per-process counter, so entries
    recorded in the same instant (a fixed clock, one page of ticks) still list in the
    order they were written when ordered by (created_at, id)."""
    global _last
    with _lock:
        # 48 bits of milliseconds and 12 bits of sequence, strictly increasing.
        _last = max(_last + 1, (time.time_ns() // 1_000_000) << 12)
        stamp = _last
    rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
    value = (stamp >> 12) << 80 | 0x7 << 76 | (stamp & 0xFFF) << 64 | 0b10 << 62 | rand
    return uuid.UUID(int=value)
