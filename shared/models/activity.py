"""The activity log: one append-only entry per mutation, written with the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, HasId
from shared.models.types import JsonType, UTCDateTime


class ActivityEntry(HasId, Base):
    __tablename__ = "activity_entries"
    __table_args__ = (
        #: A company's entries, newest first, in keyset pages.
        Index("ix_activity_entries_company_created", "company_id", "created_at", "id"),
        #: One entity's entries (the entityType/entityId filter), newest first.
        Index(
            "ix_activity_entries_company_entity",
            "company_id",
            "entity_type",
            "entity_id",
            "created_at",
            "id",
        ),
    )

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    #: No foreign key: an entry outlives what it is about (a deleted trigger).
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    details: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
