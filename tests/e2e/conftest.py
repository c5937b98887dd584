"""End-to-end fixtures: real PostgreSQL, Redis, gunicorn and dramatiq processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import distributed_env, run_release
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A fresh database migrated by the release step, and a fresh Redis namespace."""
    redis_client()
    database_url = create_database("routines_e2e")
    namespace = new_namespace()
    env = distributed_env(database_url, REDIS_URL, namespace)
    run_release(env)
    yield Stack(env=env, database_url=database_url, namespace=namespace, log_dir=tmp_path)
    drop_database(database_url)
    delete_namespace(namespace)
