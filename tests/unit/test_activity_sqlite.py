"""The activity log on SQLite (the embedded mode): the migrated table, entries of one
instant newest first, pages by `before`, and a replay, all on a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.api import Api, FlaskTransport, fire, make_agent, make_company, make_routine
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from tests.support.activity import actions, activity, next_link
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


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return Api(FlaskTransport(create_app(runtime=runtime).test_client()), token=ADMIN)


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
