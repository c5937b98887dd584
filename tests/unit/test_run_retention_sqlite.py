"""Retention on SQLite (the embedded mode, no FOR UPDATE there): expired runs go, the
newest of a routine stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from devstack.api import fire, make_agent, make_company, make_routine
from scheduler.loop import Scheduler
from shared.models import RoutineRun
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock
from tests.support.sqlite import admin_api, sqlite_runtime

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    with sqlite_runtime(tmp_path, clock) as built:
        yield built


def test_expired_runs_are_deleted_on_sqlite_and_the_newest_kept(
    runtime: Runtime, clock: FixedClock
) -> None:
    api = admin_api(runtime)
    company = make_company(api)
    routine = make_routine(api, company, make_agent(api, company))
    fire(api, routine)
    clock.advance(days=100)
    newest = fire(api, routine)
    with runtime.sessions() as session:
        session.execute(RoutineRun.__table__.update().values(status="completed"))
        session.commit()
    assert Scheduler(runtime).tick().expired == 1
    with runtime.sessions() as session:
        assert [str(i) for i in session.scalars(select(RoutineRun.id))] == [newest["id"]]
