"""End-to-end fixtures: real PostgreSQL, Redis, gunicorn and dramatiq processes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
from tests.support.private_stack import (
    PrivateStack,
    Services,
    ServicesOptions,
    open_private_stack,
    running_services,
)


@dataclass(frozen=True)
class Stack:
    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path


@contextmanager
def fresh_stack(log_dir: Path) -> Iterator[Stack]:
    """A fresh database migrated by the release step and a fresh Redis namespace on the
    shared services, both removed afterwards."""
    redis_client()
    database_url = create_database("routines_e2e")
    namespace = new_namespace()
    try:
        env = distributed_env(database_url, REDIS_URL, namespace)
        run_release(env)
        yield Stack(env=env, database_url=database_url, namespace=namespace, log_dir=log_dir)
    finally:
        drop_database(database_url)
        delete_namespace(namespace)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A fresh database migrated by the release step, and a fresh Redis namespace."""
    with fresh_stack(tmp_path) as built:
        yield built


@pytest.fixture(scope="module")
def private_stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivateStack]:
    """Private PostgreSQL and Redis with the fast timings (tests/support/private_stack.py)
    for the whole module, which may stop, freeze and restart them."""
    name = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with open_private_stack(tmp_path_factory.mktemp(name)) as built:
        yield built


@pytest.fixture(scope="module")
def services(request: pytest.FixtureRequest, private_stack: PrivateStack) -> Iterator[Services]:
    """web, a worker and a scheduler on the private stack for the whole module, as the
    module's `SERVICES` (a ServicesOptions; the defaults when it sets none) asks."""
    options = getattr(request.module, "SERVICES", ServicesOptions())
    with running_services(private_stack, options) as running:
        yield running
