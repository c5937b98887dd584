"""The release step on a fresh PostgreSQL: `routines db upgrade` creates its database
when the server has none of that name, and leaves an existing one alone."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, make_url, text

from devstack.services import PG_ADMIN_URL, create_database, drop_database
from shared.platform.migrate import current_revision, head_revision, upgrade_to_head
from shared.platform.settings import Settings

pytestmark = pytest.mark.integration


def exists(name: str) -> bool:
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as connection:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return connection.scalar(query, {"name": name}) is not None
    finally:
        admin.dispose()


def at_head(url: str) -> bool:
    engine = create_engine(url)
    try:
        return current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_a_missing_database_is_created_then_migrated_to_head() -> None:
    name = f"routines_release_{uuid.uuid4().hex[:10]}"
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    assert not exists(name)
    try:
        upgrade_to_head(Settings(database_url=url, redis_url=None, admin_token="a", secret_key="k"))
        assert exists(name)
        assert at_head(url)
    finally:
        drop_database(url)


def test_an_existing_database_is_migrated_in_place() -> None:
    url = create_database()
    try:
        upgrade_to_head(Settings(database_url=url, redis_url=None, admin_token="a", secret_key="k"))
        upgrade_to_head(Settings(database_url=url, redis_url=None, admin_token="a", secret_key="k"))
        assert at_head(url)
    finally:
        drop_database(url)
