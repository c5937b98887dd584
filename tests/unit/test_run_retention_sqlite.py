"""Retention on SQLite (the embedded mode, no FOR UPDATE there): expired runs go, the
newest of a routine stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from devstack.api import Api, FlaskTransport, fire, make_agent, make_company, make_routine
from scheduler.loop import Scheduler
from shared.models import RoutineRun
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from tests.support.clock import FixedClock
from web.app import create_app

ADMIN = "adm"
CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db", redis_url=None, admin_token=ADMIN, secret_key="k"
    )
    upgrade_to_head(settings)
    built = build_runtime(settings, clock=clock)
    yield built
    built.close()


def test_expired_runs_are_deleted_on_sqlite_and_the_newest_kept(
    runtime: Runtime, clock: FixedClock
) -> None:
    api = Api(FlaskTransport(create_app(runtime=runtime).test_client()), token=ADMIN)
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
