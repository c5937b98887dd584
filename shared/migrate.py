"""Schema migrations, run by the release step, the embedded launcher and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from shared.db import ensure_sqlite_directory
from shared.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(settings: Settings) -> None:
    ensure_sqlite_directory(settings.database_url)
    command.upgrade(alembic_config(settings.database_url), "head")


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_known_revision(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return any(r.revision == revision for r in script.walk_revisions())
