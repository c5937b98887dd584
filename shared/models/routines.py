"""Routines, their triggers, and the runs every firing records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, HasId, HasTimestamps
from shared.models.types import JsonType, UTCDateTime


class HasAuthors:
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class Routine(HasId, HasTimestamps, HasAuthors, Base):
    __tablename__ = "routines"
    __table_args__ = (Index("ix_routines_company_updated", "company_id", "updated_at"),)

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    parent_issue_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    assignee_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    status: Mapped[str] = mapped_column(String(16), default="active")
    concurrency_policy: Mapped[str] = mapped_column(String(32), default="coalesce_if_active")
    catch_up_policy: Mapped[str] = mapped_column(String(32), default="skip_missed")
    variables: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    last_triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoutineTrigger(HasId, HasTimestamps, HasAuthors, Base):
    __tablename__ = "routine_triggers"
    __table_args__ = (
        #: The scheduler's due scan: enabled schedule triggers ordered by next_run_at.
        Index(
            "ix_routine_triggers_due",
            "next_run_at",
            postgresql_where=text("kind = 'schedule' AND enabled"),
            sqlite_where=text("kind = 'schedule' AND enabled"),
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    routine_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("routines.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cron_expression: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    public_id: Mapped[str | None] = mapped_column(String(24), unique=True)
    secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("secrets.id", ondelete="SET NULL")
    )
    #: The secret a rotation with a grace replaced: it keeps verifying until its expiry.
    previous_secret_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("secrets.id", ondelete="SET NULL")
    )
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signing_mode: Mapped[str | None] = mapped_column(String(32))
    replay_window_sec: Mapped[int | None] = mapped_column(Integer)
    last_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_result: Mapped[str | None] = mapped_column(Text)


class RoutineRun(HasId, HasTimestamps, Base):
    __tablename__ = "routine_runs"
    __table_args__ = (
        Index("ix_routine_runs_routine_created", "routine_id", "created_at"),
        #: On PostgreSQL only, migration 0006 adds ix_routine_runs_newest: (routine_id,
        #: created_at DESC, scheduled_for DESC NULLS LAST, id), a routine's runs in list order,
        #: which SQLite cannot spell (no NULLS LAST in an index) and does not need.
        #: Idempotency: one run per (routine, source:trigger scope, key); NULL keys never clash.
        UniqueConstraint("routine_id", "idempotency_scope", "idempotency_key"),
        #: Exactly one run per schedule trigger and tick.
        UniqueConstraint("trigger_id", "scheduled_for"),
        #: Replay protection: a timestamped signature is recorded once, with its run.
        UniqueConstraint("trigger_id", "signature_hash"),
        #: The sweeper's scan for runs nobody decided.
        Index(
            "ix_routine_runs_received",
            "created_at",
            postgresql_where=text("status = 'received'"),
            sqlite_where=text("status = 'received'"),
        ),
        Index("ix_routine_runs_linked_issue", "linked_issue_id"),
        #: Runs by recording time across routines: the /ops window and retention.
        Index("ix_routine_runs_created", "created_at"),
        #: Retention keeps a run another run coalesced into or replays: found by these.
        Index(
            "ix_routine_runs_coalesced_into",
            "coalesced_into_run_id",
            postgresql_where=text("coalesced_into_run_id IS NOT NULL"),
            sqlite_where=text("coalesced_into_run_id IS NOT NULL"),
        ),
        Index(
            "ix_routine_runs_replay_of",
            "replay_of_run_id",
            postgresql_where=text("replay_of_run_id IS NOT NULL"),
            sqlite_where=text("replay_of_run_id IS NOT NULL"),
        ),
        #: The newest failures, for /ops, without reading every run.
        Index(
            "ix_routine_runs_failed",
            "updated_at",
            postgresql_where=text("status = 'failed'"),
            sqlite_where=text("status = 'failed'"),
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    routine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routines.id", ondelete="CASCADE"))
    #: No foreign key on purpose: a deleted trigger must stay visible to the dispatcher,
    #: which then skips the run with a reason instead of firing it.
    trigger_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="received")
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    idempotency_scope: Mapped[str | None] = mapped_column(String(64))
    #: sha256 of the delivery's timestamped signature (hmac_sha256 mode), hex.
    signature_hash: Mapped[str | None] = mapped_column(String(64))
    trigger_payload: Mapped[Any] = mapped_column(JsonType)
    #: What the request asked for, resolved when the worker decides.
    variables: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    project_id_override: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    assignee_agent_id_override: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    execution_workspace: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    linked_issue_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    coalesced_into_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: The run this one replays (POST /api/routine-runs/{id}/replay); no foreign key, like
    #: `coalesced_into_run_id`.
    replay_of_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when the worker decided; fire-to-decision latency is decided_at - created_at.
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Secret(HasId, Base):
    __tablename__ = "secrets"

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    #: Fernet token; the clear value is never stored.
    ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
