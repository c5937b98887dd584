"""The routine reads on SQLite (the embedded mode), which has neither LATERAL nor the
PostgreSQL-only index on a routine's runs in list order: same answers."""

from __future__ import annotations

from devstack.api import Api, fire, make_agent, make_company, make_routine
from tests.support.clock import FixedClock


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
