"""Where work lands: projects, goals and issues."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, HasId, HasTimestamps
from shared.models.types import JsonType, UTCDateTime


class Project(HasId, HasTimestamps, Base):
    __tablename__ = "projects"

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="active")
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pause_reason: Mapped[str | None] = mapped_column(Text)


class Goal(HasId, HasTimestamps, Base):
    __tablename__ = "goals"

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="active")


class Issue(HasId, HasTimestamps, Base):
    __tablename__ = "issues"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        #: A routine's live issues (list, detail, dispatch) without its finished ones.
        Index("ix_issues_origin_status", "origin_kind", "origin_id", "status", "created_at"),
        #: The issue list filtered by origin, newest first, scanned backwards.
        Index("ix_issues_origin_created", "origin_id", "created_at", "number", "id"),
        Index("ix_issues_company_status", "company_id", "status"),
        #: The issue list's keyset pages (newest first), scanned backwards.
        Index("ix_issues_company_created", "company_id", "created_at", "number", "id"),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    identifier: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="todo")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    assignee_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL")
    )
    goal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goals.id", ondelete="SET NULL"))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("issues.id", ondelete="SET NULL")
    )
    origin_kind: Mapped[str | None] = mapped_column(String(32))
    origin_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    origin_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    execution_workspace_id: Mapped[str | None] = mapped_column(String(255))
    execution_workspace_preference: Mapped[str | None] = mapped_column(String(255))
    execution_workspace_settings: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
