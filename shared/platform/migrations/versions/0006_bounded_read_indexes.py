"""indexes that bound the routine reads by what they show: a routine's live issues without
its finished ones, and (PostgreSQL) a routine's runs in exactly the order they list in

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: NEWEST_RUN_FIRST of shared.runs.reading, which SQLite cannot spell in an index (no
#: NULLS LAST there); its planner serves a routine's runs from (routine_id, created_at).
NEWEST_RUNS = ["routine_id", "created_at DESC", "scheduled_for DESC NULLS LAST", "id"]


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_origin_status",
            ["origin_kind", "origin_id", "status", "created_at"],
            unique=False,
        )
    if op.get_bind().dialect.name == "postgresql":
        columns = [sa.text(column) for column in NEWEST_RUNS]
        op.create_index("ix_routine_runs_newest", "routine_runs", columns, unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_routine_runs_newest", table_name="routine_runs")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_origin_status")
