"""The activity log on SQLite (the embedded mode): the migrated table, entries of one
instant newest first, pages by `before`, and a replay, all on a fixed clock."""

from __future__ import annotations

from devstack.api import Api, fire, make_agent, make_company, make_routine
from tests.support.activity import actions, activity, next_link


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
