"""The activity log on SQLite (the embedded mode): the migrated table, entries of one
instant newest first, pages by `before`, and a replay, all on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.api import Api, fire, make_agent, make_company, make_routine
from shared.platform.runtime import Runtime
from tests.support.activity import actions, activity, next_link
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


def test_entries_of_one_instant_page_newest_first_on_sqlite(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    routine = make_routine(api, company, agent)
    for n in range(3):
        api.ok("PATCH", f"/api/routines/{routine['id']}", {"description": f"edit {n}"})

    everything = activity(api, company)
    assert actions(everything) == ["routine.updated"] * 3 + ["routine.created", "agent.created"]
    seen: list[str] = []
    path: str | None = f"/api/companies/{company['id']}/activity?limit=2"
    while path is not None:
        response = api.get(path)
        seen += [entry["id"] for entry in response.body]
        path = next_link(response.headers)
    assert seen == [entry["id"] for entry in everything]


def test_a_replay_is_recorded_and_logged_on_sqlite(api: Api) -> None:
    company = make_company(api)
    routine = make_routine(api, company, make_agent(api, company))
    original = fire(api, routine, idempotencyKey="k")

    response = api.post(f"/api/routine-runs/{original['id']}/replay")

    assert response.status == 202
    assert response.body["replayOfRunId"] == original["id"]
    assert actions(activity(api, company))[:2] == ["run.replayed", "run.requested"]
