"""Replaying a run: a new run with the same event, `replayOfRunId` set, decided like any
run; refused for archived routines and disabled or deleted triggers; as for a manual run
who may; the original untouched."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from devstack.api import (
    Api,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_world,
)
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.schedules.due import due_triggers
from tests.support.activity import activity
from tests.support.clock import FixedClock
from workers.actors import fire_tick

Drain = Callable[[], None]


def replay(api: Api, run: dict[str, Any]) -> Any:
    return api.post(f"/api/routine-runs/{run['id']}/replay")


def get_run(api: Api, run: dict[str, Any]) -> dict[str, Any]:
    return dict(api.ok("GET", f"/api/routine-runs/{run['id']}"))


def add_trigger(api: Api, routine: dict[str, Any], **fields: Any) -> dict[str, Any]:
    path = f"/api/routines/{routine['id']}/triggers"
    return dict(api.ok("POST", path, {"kind": "api", **fields})["trigger"])


def test_a_replay_is_a_new_run_of_the_same_event(api: Api, drain: Drain) -> None:
    world = make_world(api, variables=[{"name": "ticket", "type": "text", "required": False}])
    trigger = add_trigger(api, world.routine)
    original = fire(
        api,
        world.routine,
        source="api",
        triggerId=trigger["id"],
        payload={"ticket": "T-7"},
        variables={"ticket": "T-7"},
    )
    drain()
    before = get_run(api, original)

    response = replay(api, original)

    assert response.status == 202
    new = response.body
    assert new["id"] != original["id"]
    assert new["replayOfRunId"] == original["id"]
    assert (new["routineId"], new["triggerId"], new["source"]) == (
        world.routine["id"],
        trigger["id"],
        "api",
    )
    assert new["triggerPayload"] == {"ticket": "T-7"}
    assert (new["status"], new["idempotencyKey"], new["scheduledFor"]) == ("received", None, None)
    assert new["trigger"] == {"id": trigger["id"], "kind": "api", "label": None}
    assert get_run(api, original) == before, "the original is unchanged"
    assert before["replayOfRunId"] is None


def test_the_replay_is_decided_by_the_workers(api: Api, drain: Drain) -> None:
    world = make_world(api, concurrencyPolicy="always_enqueue", title="Handle {{ ticket }}")
    original = fire(api, world.routine, variables={"ticket": "T-9"})
    drain()
    first = get_run(api, original)
    assert first["status"] == "issue_created"

    new = replay(api, original).body
    drain()

    decided = get_run(api, new)
    assert decided["status"] == "issue_created"
    assert decided["linkedIssueId"] not in (None, first["linkedIssueId"])
    assert decided["linkedIssue"]["title"] == "Handle T-9", "same variables"


def test_a_replay_follows_the_concurrency_policy(api: Api, drain: Drain) -> None:
    world = make_world(api)  # coalesce_if_active
    original = fire(api, world.routine)
    drain()

    new = replay(api, original).body
    drain()

    decided = get_run(api, new)
    assert decided["status"] == "coalesced"
    assert decided["coalescedIntoRunId"] == original["id"]


def test_a_replay_into_a_paused_project_is_skipped(api: Api, drain: Drain) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    drain()
    api.ok("POST", f"/api/projects/{world.project['id']}/pause", {})

    new = replay(api, original).body
    drain()

    decided = get_run(api, new)
    assert (decided["status"], decided["failureReason"]) == ("skipped", "paused")


def test_the_originals_idempotency_key_does_not_hold_the_replay_back(
    api: Api, drain: Drain
) -> None:
    world = make_world(api)
    original = fire(api, world.routine, idempotencyKey="ticket-1")

    replays = [replay(api, original).body for _ in range(2)]

    assert len({original["id"], *(r["id"] for r in replays)}) == 3
    assert all(r["idempotencyKey"] is None for r in replays)
    assert fire(api, world.routine, idempotencyKey="ticket-1")["id"] == original["id"]


def test_a_replay_of_a_replay_points_at_the_run_it_replays(api: Api) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    second = replay(api, original).body
    third = replay(api, second).body
    assert (second["replayOfRunId"], third["replayOfRunId"]) == (original["id"], second["id"])


def test_a_webhook_delivery_is_replayed_with_its_body(api: Api, drain: Drain) -> None:
    world = make_world(api)
    created = api.ok(
        "POST",
        f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "webhook", "signingMode": "none"},
    )
    public_id = created["trigger"]["publicId"]
    delivered = api.as_(None).post(
        f"/api/routine-triggers/public/{public_id}/fire", {"event": "push", "ref": "main"}
    )
    assert delivered.status == 202

    new = replay(api, delivered.body).body

    assert (new["source"], new["triggerId"]) == ("webhook", created["trigger"]["id"])
    assert new["triggerPayload"] == {"event": "push", "ref": "main"}
    assert new["replayOfRunId"] == delivered.body["id"]


def test_a_schedule_run_is_replayed_beside_its_tick(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    """The unique (trigger, tick) index belongs to the original: the replay has no tick."""
    world = make_world(sched_api)
    trigger = add_trigger(sched_api, world.routine, kind="schedule", cronExpression="* * * * *")
    clock.advance(seconds=61)
    with transaction(timed.sessions) as session:
        due = due_triggers(session, now=clock.now(), limit=10)
    for tick in due:
        fire_tick(timed, tick.trigger_id, tick.due_at)
    (original,) = sched_api.ok("GET", f"/api/routines/{world.routine['id']}/runs")
    assert original["scheduledFor"] is not None

    response = replay(sched_api, original)

    assert response.status == 202
    new = response.body
    assert (new["source"], new["triggerId"], new["scheduledFor"]) == (
        "schedule",
        trigger["id"],
        None,
    )
    assert new["replayOfRunId"] == original["id"]
    assert len(sched_api.ok("GET", f"/api/routines/{world.routine['id']}/runs")) == 2


def test_an_archived_routine_is_a_409(api: Api) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})

    response = replay(api, original)

    assert (response.status, response.error) == (409, "Routine is archived")


def test_a_disabled_or_deleted_trigger_is_a_409(api: Api) -> None:
    world = make_world(api)
    trigger = add_trigger(api, world.routine)
    original = fire(api, world.routine, triggerId=trigger["id"])
    path = f"/api/routine-triggers/{trigger['id']}"

    api.ok("PATCH", path, {"enabled": False})
    disabled = replay(api, original)
    api.ok("DELETE", path)
    deleted = replay(api, original)

    assert (disabled.status, disabled.error) == (409, "Routine trigger is not active")
    assert (deleted.status, deleted.error) == (409, "Routine trigger was deleted")


def test_who_may_replay_is_who_may_run_by_hand(api: Api) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    other_agent = make_agent(api, world.company, name="Other")
    beta = make_company(api, "Beta")
    refusals = {
        make_member(api, world.company): (403, "Missing permission: tasks:assign"),
        make_agent_token(api, other_agent): (
            403,
            "Agents can only manage routines assigned to themselves",
        ),
        make_agent_token(api, make_agent(api, beta)): (404, "Routine run not found"),
        make_member(api, beta, ["tasks:assign"]): (404, "Routine run not found"),
        None: (401, "Unauthorized"),
    }
    for token, expected in refusals.items():
        response = replay(api.as_(token), original)
        assert (response.status, response.error) == expected
    allowed = (
        make_member(api, world.company, ["tasks:assign"]),
        make_agent_token(api, world.agent),
    )
    for token in allowed:
        assert replay(api.as_(token), original).status == 202


def test_an_unknown_or_malformed_run_is_a_404(api: Api) -> None:
    for run_id in (str(uuid.uuid4()), "not-an-id"):
        response = replay(api, {"id": run_id})
        assert (response.status, response.error) == (404, "Routine run not found")


def test_a_replay_writes_one_run_replayed_entry(api: Api) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    agent_token = make_agent_token(api, world.agent)

    new = replay(api.as_(agent_token), original).body

    entry = activity(api, world.company, "?limit=1")[0]
    assert (entry["action"], entry["entityType"], entry["entityId"]) == (
        "run.replayed",
        "run",
        new["id"],
    )
    assert (entry["actorType"], entry["actorId"]) == ("agent", world.agent["id"])
    assert entry["details"]["changes"]["replayOfRunId"] == {"old": None, "new": original["id"]}


def test_a_refused_replay_records_nothing(api: Api) -> None:
    world = make_world(api)
    original = fire(api, world.routine)
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})
    entries = activity(api, world.company)
    runs = api.ok("GET", f"/api/routines/{world.routine['id']}/runs")

    assert replay(api, original).status == 409

    assert activity(api, world.company) == entries
    assert api.ok("GET", f"/api/routines/{world.routine['id']}/runs") == runs
