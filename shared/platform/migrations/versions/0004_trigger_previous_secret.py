"""a trigger's previous secret and its expiry (rotation grace); signing modes up to 32 characters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "kind = 'schedule' AND enabled"


def upgrade() -> None:
    # SQLite cannot change a column's type in place: batch mode copies the table, and the
    # copy would lose the due index's WHERE clause, so that index is made again after it.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_due_index()
    with op.batch_alter_table("routine_triggers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_secret_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "previous_secret_expires_at",
                shared.models.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_foreign_key(
            op.f("fk_routine_triggers_previous_secret_id_secrets"),
            "secrets",
            ["previous_secret_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.alter_column(
            "signing_mode",
            existing_type=sa.String(length=16),
            type_=sa.String(length=32),
            existing_nullable=True,
        )
    if sqlite:
        _create_due_index()


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_due_index()
    with op.batch_alter_table("routine_triggers", schema=None) as batch_op:
        batch_op.alter_column(
            "signing_mode",
            existing_type=sa.String(length=32),
            type_=sa.String(length=16),
            existing_nullable=True,
        )
        batch_op.drop_constraint(
            op.f("fk_routine_triggers_previous_secret_id_secrets"), type_="foreignkey"
        )
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret_id")
    if sqlite:
        _create_due_index()


def _drop_due_index() -> None:
    op.drop_index("ix_routine_triggers_due", table_name="routine_triggers")


def _create_due_index() -> None:
    op.create_index(
        "ix_routine_triggers_due",
        "routine_triggers",
        ["next_run_at"],
        unique=False,
        postgresql_where=sa.text(DUE),
        sqlite_where=sa.text(DUE),
    )
