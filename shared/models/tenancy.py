"""Who exists: companies, board users and their memberships, agents and their keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.models.base import Base, HasId, HasTimestamps
from shared.models.types import JsonType, UTCDateTime


class Company(HasId, HasTimestamps, Base):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(200))
    issue_prefix: Mapped[str] = mapped_column(String(10))
    #: Last issue number handed out; bumped under a row lock for the identifier sequence.
    issue_counter: Mapped[int] = mapped_column(Integer, default=0)


class BoardUser(HasId, Base):
    __tablename__ = "board_users"

    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CompanyMembership(HasId, Base):
    __tablename__ = "company_memberships"
    __table_args__ = (UniqueConstraint("company_id", "user_id"),)

    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("board_users.id", ondelete="CASCADE"), index=True
    )
    permissions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Agent(HasId, HasTimestamps, Base):
    __tablename__ = "agents"

    company_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), default="active")


class AgentKey(HasId, Base):
    __tablename__ = "agent_keys"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
