"""How the database settings become the client's deadlines (shared/platform/db.py) and why
migrations have none (shared/platform/migrate.py)."""

from __future__ import annotations

from sqlalchemy import make_url

from shared.platform.db import DEADLINE_GRACE_SECONDS, client_limits
from shared.platform.migrate import migration_url
from shared.platform.settings import Settings


def test_the_client_waits_a_little_longer_than_the_statement_timeout() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_STATEMENT_TIMEOUT_MS": "2500"}))
    assert limits.statement == 2.5 + DEADLINE_GRACE_SECONDS
    assert limits.connect == 3.0


def test_a_ping_waits_no_longer_than_a_new_connection() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "1.5"}))
    assert limits.ping == 1.5


def test_a_limit_of_zero_lets_the_client_wait_for_ever() -> None:
    env = {"ROUTINES_DB_STATEMENT_TIMEOUT_MS": "0", "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "0"}
    limits = client_limits(Settings.from_env(env))
    assert (limits.statement, limits.connect, limits.ping) == (None, None, None)


def test_without_a_connect_timeout_a_ping_waits_as_long_as_a_statement() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "0"}))
    assert limits.ping == limits.statement == 5.0 + DEADLINE_GRACE_SECONDS


def test_migrations_connect_without_a_statement_timeout() -> None:
    url = migration_url("postgresql+psycopg2://u:p%40ss@db:5432/r?options=-c%20search_path%3Dx")
    query = make_url(url).query
    assert query["options"] == "-c search_path=x -c statement_timeout=0"
    assert make_url(url).password == "p@ss"


def test_a_sqlite_migration_url_is_left_alone() -> None:
    assert migration_url("sqlite:///x.db") == "sqlite:///x.db"
