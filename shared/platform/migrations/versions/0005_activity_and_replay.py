"""the activity log, and the run a replay replays

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-26 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_entries",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("details", shared.models.types.JsonType, nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_activity_entries_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_entries")),
    )
    with op.batch_alter_table("activity_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_entries_company_created", ["company_id", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_activity_entries_company_entity",
            ["company_id", "entity_type", "entity_id", "created_at", "id"],
        )
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replay_of_run_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.drop_column("replay_of_run_id")
    with op.batch_alter_table("activity_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_entries_company_entity")
        batch_op.drop_index("ix_activity_entries_company_created")
    op.drop_table("activity_entries")
