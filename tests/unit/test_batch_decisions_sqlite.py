"""The embedded mode decides batches with the same code as PostgreSQL: one dispatch_runs
message on SQLite and the in-process broker, runs of routines in two companies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from sqlalchemy import text

from devstack.api import Api, FlaskTransport, fire, make_agent, make_company, make_routine
from shared.platform.broker import DISPATCH_QUEUE
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from web.app import create_app
from workers.actors import register

ADMIN = "adm"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db", redis_url=None, admin_token=ADMIN, secret_key="k"
    )
    upgrade_to_head(settings)
    built = build_runtime(settings)
    register(built)
    yield built
    built.engine.dispose()


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return Api(FlaskTransport(create_app(runtime=runtime).test_client()), token=ADMIN)


def drain(runtime: Runtime) -> None:
    worker = dramatiq.Worker(runtime.broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        runtime.broker.join(DISPATCH_QUEUE, timeout=30_000, fail_fast=True)
        worker.join()
    finally:
        worker.stop()


def fired(api: Api, routine: dict[str, Any], count: int) -> list[uuid.UUID]:
    return [uuid.UUID(fire(api, routine)["id"]) for _ in range(count)]


def test_one_message_decides_runs_of_several_routines_and_companies_on_sqlite(
    api: Api, runtime: Runtime
) -> None:
    acme, globex = make_company(api, "Acme"), make_company(api, "Globex")
    hot = make_routine(api, acme, make_agent(api, acme), concurrencyPolicy="coalesce_if_active")
    busy = make_routine(api, globex, make_agent(api, globex), concurrencyPolicy="always_enqueue")
    coalescing, enqueued = fired(api, hot, 30), fired(api, busy, 10)

    assert runtime.enqueuer.dispatch_runs([coalescing[5], enqueued[0]])
    drain(runtime)

    with runtime.engine.connect() as connection:
        runs = dict(connection.execute(text("SELECT id, status FROM routine_runs")).all())
        numbers = connection.execute(
            text("SELECT company_id, number FROM issues ORDER BY company_id, number")
        ).all()
    # SQLite keeps a UUID as 32 hex digits.
    assert [runs[run_id.hex] for run_id in coalescing] == ["issue_created"] + ["coalesced"] * 29
    assert {runs[run_id.hex] for run_id in enqueued} == {"issue_created"}
    by_company: dict[str, list[int]] = {}
    for company_id, number in numbers:
        by_company.setdefault(company_id, []).append(number)
    assert sorted(by_company.values(), key=len) == [[1], list(range(1, 11))]
