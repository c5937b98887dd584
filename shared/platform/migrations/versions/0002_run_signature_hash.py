"""replay memory on the run: signature hash under a unique index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_routine_runs_trigger_id_signature_hash"), ["trigger_id", "signature_hash"]
        )


def downgrade() -> None:
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_routine_runs_trigger_id_signature_hash"), type_="unique")
        batch_op.drop_column("signature_hash")
