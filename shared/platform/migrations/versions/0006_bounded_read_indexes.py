"""indexes that bound the reads by what they show: a routine's live issues without its
finished ones, its issues newest first (replacing ix_issues_origin, whose leading
origin_kind the issue list's originId filter cannot use), and (PostgreSQL) a routine's runs
in exactly the order they list in;
and those retention asks before it deletes a run: which runs coalesced into or replay it

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
#: Partial indexes on the run ids a run may point at, named by the column.
POINTERS = {
    "ix_routine_runs_coalesced_into": "coalesced_into_run_id",
    "ix_routine_runs_replay_of": "replay_of_run_id",
}


def _present(column: str) -> sa.TextClause:
    return sa.text(f"{column} IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_origin_status",
            ["origin_kind", "origin_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_issues_origin_created", ["origin_id", "created_at", "number", "id"], unique=False
        )
        batch_op.drop_index("ix_issues_origin")
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        for name, column in POINTERS.items():
            where = _present(column)
            batch_op.create_index(name, [column], postgresql_where=where, sqlite_where=where)
    if op.get_bind().dialect.name == "postgresql":
        columns = [sa.text(column) for column in NEWEST_RUNS]
        op.create_index("ix_routine_runs_newest", "routine_runs", columns, unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_routine_runs_newest", table_name="routine_runs")
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        for name, column in POINTERS.items():
            where = _present(column)
            batch_op.drop_index(name, postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            "ix_issues_origin", ["origin_kind", "origin_id", "created_at"], unique=False
        )
        batch_op.drop_index("ix_issues_origin_created")
        batch_op.drop_index("ix_issues_origin_status")
