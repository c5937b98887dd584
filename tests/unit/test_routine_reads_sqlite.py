"""The routine reads on SQLite (the embedded mode), which has neither LATERAL nor the
PostgreSQL-only index on a routine's runs in list order: same answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.api import Api, fire, make_agent, make_company, make_routine
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock
from tests.support.sqlite import admin_api, sqlite_runtime

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    with sqlite_runtime(tmp_path, clock) as built:
        yield built


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return admin_api(runtime)


def test_the_routine_list_shows_each_routines_newest_run_on_sqlite(
    api: Api, clock: FixedClock
) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    busy, idle = (make_routine(api, company, agent, title=t) for t in ("Busy", "Idle"))
    fire(api, busy)
    clock.advance(minutes=1)
    newest = fire(api, busy)
    listed = {r["id"]: r for r in api.ok("GET", f"/api/companies/{company['id']}/routines")}
    assert listed[busy["id"]]["lastRun"]["id"] == newest["id"]
    assert listed[idle["id"]]["lastRun"] is None
    detail = api.ok("GET", f"/api/routines/{busy['id']}")
    assert detail["recentRuns"][0]["id"] == newest["id"]
