"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 05:42:42.192066
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.models.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "board_users",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_board_users")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_board_users_token_hash")),
    )
    op.create_table(
        "companies",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("issue_prefix", sa.String(length=10), nullable=False),
        sa.Column("issue_counter", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
    )
    op.create_table(
        "agents",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_agents_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_company_id"), ["company_id"], unique=False)

    op.create_table(
        "company_memberships",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("permissions", shared.models.types.JsonType, nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_company_memberships_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["board_users.id"],
            name=op.f("fk_company_memberships_user_id_board_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_company_memberships")),
        sa.UniqueConstraint(
            "company_id", "user_id", name=op.f("uq_company_memberships_company_id_user_id")
        ),
    )
    with op.batch_alter_table("company_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_company_memberships_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "goals",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_goals_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goals_company_id"), ["company_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("paused_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_projects_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_company_id"), ["company_id"], unique=False)

    op.create_table(
        "secrets",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_secrets_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secrets")),
    )
    with op.batch_alter_table("secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_secrets_company_id"), ["company_id"], unique=False)

    op.create_table(
        "agent_keys",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_keys_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_agent_keys_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_keys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_agent_keys_token_hash")),
    )
    with op.batch_alter_table("agent_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_keys_agent_id"), ["agent_id"], unique=False)

    op.create_table(
        "issues",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("assignee_agent_id", sa.Uuid(), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("origin_kind", sa.String(length=32), nullable=True),
        sa.Column("origin_id", sa.Uuid(), nullable=True),
        sa.Column("origin_run_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("execution_workspace_id", sa.String(length=255), nullable=True),
        sa.Column("execution_workspace_preference", sa.String(length=255), nullable=True),
        sa.Column("execution_workspace_settings", shared.models.types.JsonType, nullable=True),
        sa.Column("completed_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_agent_id"],
            ["agents.id"],
            name=op.f("fk_issues_assignee_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_issues_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_issues_goal_id_goals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["issues.id"],
            name=op.f("fk_issues_parent_id_issues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_issues_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
        sa.UniqueConstraint("company_id", "number", name=op.f("uq_issues_company_id_number")),
    )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issues_assignee_agent_id"), ["assignee_agent_id"], unique=False
        )
        batch_op.create_index("ix_issues_company_status", ["company_id", "status"], unique=False)
        batch_op.create_index(
            "ix_issues_origin", ["origin_kind", "origin_id", "created_at"], unique=False
        )

    op.create_table(
        "routines",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("parent_issue_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee_agent_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("concurrency_policy", sa.String(length=32), nullable=False),
        sa.Column("catch_up_policy", sa.String(length=32), nullable=False),
        sa.Column("variables", shared.models.types.JsonType, nullable=False),
        sa.Column(
            "last_triggered_at", shared.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_enqueued_at", shared.models.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_agent_id"],
            ["agents.id"],
            name=op.f("fk_routines_assignee_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_routines_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_routines_goal_id_goals"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_issue_id"],
            ["issues.id"],
            name=op.f("fk_routines_parent_issue_id_issues"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_routines_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routines")),
    )
    with op.batch_alter_table("routines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routines_company_updated", ["company_id", "updated_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_routines_project_id"), ["project_id"], unique=False)

    op.create_table(
        "routine_runs",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("routine_id", sa.Uuid(), nullable=False),
        sa.Column("trigger_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("triggered_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("scheduled_for", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("idempotency_scope", sa.String(length=64), nullable=True),
        sa.Column("trigger_payload", shared.models.types.JsonType, nullable=False),
        sa.Column("variables", shared.models.types.JsonType, nullable=True),
        sa.Column("project_id_override", sa.Uuid(), nullable=True),
        sa.Column("assignee_agent_id_override", sa.Uuid(), nullable=True),
        sa.Column("requested_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("execution_workspace", shared.models.types.JsonType, nullable=True),
        sa.Column("linked_issue_id", sa.Uuid(), nullable=True),
        sa.Column("coalesced_into_run_id", sa.Uuid(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("completed_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_routine_runs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["routine_id"],
            ["routines.id"],
            name=op.f("fk_routine_runs_routine_id_routines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routine_runs")),
        sa.UniqueConstraint(
            "routine_id",
            "idempotency_scope",
            "idempotency_key",
            name=op.f("uq_routine_runs_routine_id_idempotency_scope_idempotency_key"),
        ),
        sa.UniqueConstraint(
            "trigger_id", "scheduled_for", name=op.f("uq_routine_runs_trigger_id_scheduled_for")
        ),
    )
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.create_index("ix_routine_runs_linked_issue", ["linked_issue_id"], unique=False)
        batch_op.create_index(
            "ix_routine_runs_received",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text("status = 'received'"),
            sqlite_where=sa.text("status = 'received'"),
        )
        batch_op.create_index(
            "ix_routine_runs_routine_created", ["routine_id", "created_at"], unique=False
        )

    op.create_table(
        "routine_triggers",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("routine_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cron_expression", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("next_run_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fired_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("public_id", sa.String(length=24), nullable=True),
        sa.Column("secret_id", sa.Uuid(), nullable=True),
        sa.Column("signing_mode", sa.String(length=16), nullable=True),
        sa.Column("replay_window_sec", sa.Integer(), nullable=True),
        sa.Column("last_rotated_at", shared.models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_result", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shared.models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_agent_id", sa.Uuid(), nullable=True),
        sa.Column("updated_by_user_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_routine_triggers_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["routine_id"],
            ["routines.id"],
            name=op.f("fk_routine_triggers_routine_id_routines"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["secret_id"],
            ["secrets.id"],
            name=op.f("fk_routine_triggers_secret_id_secrets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routine_triggers")),
        sa.UniqueConstraint("public_id", name=op.f("uq_routine_triggers_public_id")),
    )
    with op.batch_alter_table("routine_triggers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_routine_triggers_due",
            ["next_run_at"],
            unique=False,
            postgresql_where=sa.text("kind = 'schedule' AND enabled"),
            sqlite_where=sa.text("kind = 'schedule' AND enabled"),
        )
        batch_op.create_index(
            batch_op.f("ix_routine_triggers_routine_id"), ["routine_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("routine_triggers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routine_triggers_routine_id"))
        batch_op.drop_index(
            "ix_routine_triggers_due",
            postgresql_where=sa.text("kind = 'schedule' AND enabled"),
            sqlite_where=sa.text("kind = 'schedule' AND enabled"),
        )

    op.drop_table("routine_triggers")
    with op.batch_alter_table("routine_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_routine_runs_routine_created")
        batch_op.drop_index(
            "ix_routine_runs_received",
            postgresql_where=sa.text("status = 'received'"),
            sqlite_where=sa.text("status = 'received'"),
        )
        batch_op.drop_index("ix_routine_runs_linked_issue")

    op.drop_table("routine_runs")
    with op.batch_alter_table("routines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routines_project_id"))
        batch_op.drop_index("ix_routines_company_updated")

    op.drop_table("routines")
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_index("ix_issues_origin")
        batch_op.drop_index("ix_issues_company_status")
        batch_op.drop_index(batch_op.f("ix_issues_assignee_agent_id"))

    op.drop_table("issues")
    with op.batch_alter_table("agent_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_keys_agent_id"))

    op.drop_table("agent_keys")
    with op.batch_alter_table("secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secrets_company_id"))

    op.drop_table("secrets")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_company_id"))

    op.drop_table("projects")
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goals_company_id"))

    op.drop_table("goals")
    with op.batch_alter_table("company_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_company_memberships_user_id"))

    op.drop_table("company_memberships")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_company_id"))

    op.drop_table("agents")
    op.drop_table("companies")
    op.drop_table("board_users")
