"""The embedded mode end to end in one process: SQLite, the in-process broker, a real
dramatiq worker and the Flask app, with no PostgreSQL or Redis anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from devstack.api import Api, FlaskTransport, World, fire, make_world
from shared.platform.broker import DISPATCH_QUEUE
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from web.app import create_app
from workers.actors import register

ADMIN = "adm"
#: Milliseconds a queue may take to drain before the test fails instead of hanging.
DRAIN_TIMEOUT_MS = 30_000


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db",
        redis_url=None,
        admin_token=ADMIN,
        secret_key="k",
    )
    upgrade_to_head(settings)
    built = build_runtime(settings)
    register(built)
    yield built
    built.close()


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return Api(FlaskTransport(create_app(runtime=runtime).test_client()), token=ADMIN)


@pytest.fixture
def drain(runtime: Runtime) -> Callable[[], None]:
    def run_until_empty() -> None:
        worker = dramatiq.Worker(runtime.broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            runtime.broker.join(DISPATCH_QUEUE, timeout=DRAIN_TIMEOUT_MS, fail_fast=True)
            worker.join()
        finally:
            worker.stop()

    return run_until_empty


def runs_of(api: Api, world: World) -> dict[str, dict[str, Any]]:
    runs = api.ok("GET", f"/api/routines/{world.routine['id']}/runs")
    return {run["id"]: run for run in runs}


def execution_issues(api: Api, world: World) -> list[dict[str, Any]]:
    return api.ok(
        "GET",
        f"/api/companies/{world.company['id']}/issues"
        f"?originKind=routine_execution&originId={world.routine['id']}",
    )


def test_the_embedded_settings_use_sqlite_and_the_in_process_broker(runtime: Runtime) -> None:
    assert runtime.settings.mode == "embedded"
    assert runtime.engine.dialect.name == "sqlite"
    assert isinstance(runtime.broker, StubBroker)


def test_the_admin_token_is_required(api: Api) -> None:
    assert api.as_(None).get("/api/companies").status == 401
    assert api.as_("wrong").get("/api/companies").status == 401
    assert api.get("/api/companies").status == 200


def test_a_fire_is_recorded_as_received_until_a_worker_decides_it(api: Api) -> None:
    world = make_world(api)
    run = fire(api, world.routine)
    assert run["status"] == "received"
    assert run["routineId"] == world.routine["id"]
    assert run["linkedIssue"] is None
    assert execution_issues(api, world) == []


def test_three_fires_of_a_coalescing_routine_give_one_issue_and_two_coalesced_runs(
    api: Api, drain: Callable[[], None]
) -> None:
    world = make_world(api, concurrencyPolicy="coalesce_if_active")
    fired = [fire(api, world.routine)["id"] for _ in range(3)]
    drain()
    runs = runs_of(api, world)
    assert set(runs) == set(fired)
    statuses = sorted(run["status"] for run in runs.values())
    assert statuses == ["coalesced", "coalesced", "issue_created"]
    issues = execution_issues(api, world)
    assert len(issues) == 1
    creator = runs[fired[0]]
    assert creator["status"] == "issue_created"
    assert creator["linkedIssueId"] == issues[0]["id"]
    assert issues[0]["assigneeAgentId"] == world.agent["id"]
    assert issues[0]["title"] == world.routine["title"]
    for run_id in fired[1:]:
        assert runs[run_id]["linkedIssueId"] == issues[0]["id"]
        assert runs[run_id]["coalescedIntoRunId"] == creator["id"]


def test_always_enqueue_gives_an_issue_per_fire(api: Api, drain: Callable[[], None]) -> None:
    world = make_world(api, concurrencyPolicy="always_enqueue")
    for _ in range(2):
        fire(api, world.routine)
    drain()
    assert len(execution_issues(api, world)) == 2
    assert {run["status"] for run in runs_of(api, world).values()} == {"issue_created"}
