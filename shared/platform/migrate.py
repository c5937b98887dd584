"""Schema migrations, run by the release step, the embedded launcher and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from shared.platform.db import ensure_sqlite_directory
from shared.platform.settings import Settings

#: SQLSTATE 3D000: the database named in the connection does not exist.
INVALID_CATALOG_NAME = "3D000"

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(settings: Settings) -> None:
    ensure_sqlite_directory(settings.database_url)
    ensure_postgres_database(settings.database_url)
    command.upgrade(alembic_config(migration_url(settings.database_url)), "head")


def ensure_postgres_database(url: str) -> None:
    """Create the database if the server has none of that name, so a first release on a
    fresh PostgreSQL needs no `createdb`. Only when connecting says it is missing: a role
    that finds its database there never touches the `postgres` maintenance database."""
    parsed = make_url(migration_url(url))
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    if not _database_missing(parsed):
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(parsed.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()


def _database_missing(url: URL) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect():
            return False
    except OperationalError as error:
        return getattr(error.orig, "pgcode", None) == INVALID_CATALOG_NAME or (
            "does not exist" in str(error.orig) and f'"{url.database}"' in str(error.orig)
        )
    finally:
        engine.dispose()


def migration_url(url: str) -> str:
    """Migrations run with no statement timeout, whatever the role's or the database's
    default: an index build on a big table may take minutes. Their connections are not
    the application's (shared/platform/db.py), so no client deadline cuts them short either."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    given = parsed.query.get("options")
    options = [given] if isinstance(given, str) else list(given or ())
    options.append("-c statement_timeout=0")
    return parsed.update_query_dict({"options": " ".join(options)}).render_as_string(
        hide_password=False
    )


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_known_revision(revision: str) -> bool:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return any(r.revision == revision for r in script.walk_revisions())
