"""Real PostgreSQL and Redis for tests and benchmarks: a fresh database and key namespace
per run.

A missing service is a failure, never a skip: CI must not pass without them.
"""

from __future__ import annotations

import os
import uuid

import redis
from sqlalchemy import Connection, Table, create_engine, text
from sqlalchemy.engine import Engine, make_url

from shared.models import Base

PG_ADMIN_URL = os.environ.get(
    "ROUTINES_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("ROUTINES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class ServiceMissing(RuntimeError):
    pass


def create_database(prefix: str = "routines_test") -> str:
    """A new, empty database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        raise ServiceMissing(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {error}") from error
    finally:
        admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


#: Above this many rows in any table, TRUNCATE (see truncate_all).
FEW_ROWS = 1000


def truncate_all(engine: Engine) -> None:
    """Empty every table. Before most PostgreSQL tests only a few rows are left, and a
    DELETE per table (children first) takes about 3 ms where a TRUNCATE of them all (new
    files for every table and index) takes about 34 ms; after a test that loaded history,
    deleting row by row with its foreign-key checks would be slow, so TRUNCATE then."""
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if _holds_many_rows(connection, tables):
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} CASCADE"))
            return
        for table in tables:
            connection.execute(table.delete())


def _holds_many_rows(connection: Connection, tables: list[Table]) -> bool:
    """Whether any table has more than FEW_ROWS rows; one statement, reading at most
    FEW_ROWS + 1 rows of each."""
    probes = " OR ".join(
        f'(SELECT count(*) FROM (SELECT 1 FROM "{table.name}" LIMIT {FEW_ROWS + 1}) s) > {FEW_ROWS}'
        for table in tables
    )
    return bool(connection.execute(text(f"SELECT {probes}")).scalar())


def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        raise ServiceMissing(f"Redis is not reachable at {REDIS_URL}: {error}") from error
    return client


def new_namespace(prefix: str = "routines-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def delete_namespace(namespace: str) -> None:
    client = redis_client()
    keys = list(client.scan_iter(f"{namespace}*", count=1000))
    if keys:
        client.delete(*keys)
