"""The Alembic migrations build the whole model on SQLite, and undo it cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect

from shared.models import Base
from shared.platform.migrate import alembic_config, current_revision, head_revision

MODEL_TABLES = set(Base.metadata.tables)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def columns(engine: Engine, table: str) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns(table)}


def test_the_model_has_the_tables_the_service_relies_on() -> None:
    assert {"companies", "agents", "routines", "routine_runs", "issues"} <= MODEL_TABLES


def test_upgrade_to_head_creates_every_model_table_and_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    try:
        assert tables(engine) == MODEL_TABLES
        for table in Base.metadata.sorted_tables:
            assert columns(engine, table.name) == set(table.columns.keys()), table.name
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_migrated_schema_matches_the_model_with_no_drift(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = create_engine(url)
    try:
        assert tables(engine) == set()
        assert current_revision(engine) is None
        command.upgrade(config, "head")
        assert tables(engine) == MODEL_TABLES
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrading_an_up_to_date_database_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    config = alembic_config(url)
    command.upgrade(config, "head")
    command.upgrade(config, "head")
    engine = create_engine(url)
    try:
        assert tables(engine) == MODEL_TABLES
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_there_is_a_single_head_revision() -> None:
    assert head_revision() is not None
