"""Retention on SQLite (the embedded mode, no FOR UPDATE there): expired runs go, the
newest of a routine stays."""

from __future__ import annotations

from sqlalchemy import select

from devstack.api import Api, fire, make_agent, make_company, make_routine
from scheduler.loop import Scheduler
from shared.models import RoutineRun
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock


def test_expired_runs_are_deleted_on_sqlite_and_the_newest_kept(
    runtime: Runtime, api: Api, clock: FixedClock
) -> None:
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
