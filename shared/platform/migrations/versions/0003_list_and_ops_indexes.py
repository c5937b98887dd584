"""indexes for the issue list's pages, the /ops window and its failed list

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = "status = 'failed'"


def upgrade() -> None:
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.create_index("ix_routine_runs_created", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_routine_runs_failed",
            ["updated_at"],
            unique=False,
            postgresql_where=sa.text(FAILED),
            sqlite_where=sa.text(FAILED),
        )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_company_created", ["company_id", "created_at", "number", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_company_created")
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_routine_runs_failed", postgresql_where=sa.text(FAILED), sqlite_where=sa.text(FAILED)
        )
        batch_op.drop_index("ix_routine_runs_created")
