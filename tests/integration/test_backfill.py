"""Backfilling a schedule trigger: POST /api/routine-triggers/{id}/backfill on PostgreSQL
with a FixedClock, its runs decided by a real worker over the in-process broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from devstack.api import (
    Api,
    FlaskTransport,
    Response,
    World,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_world,
)
from shared.platform.runtime import Runtime
from tests.integration.test_races import all_at_once
from tests.integration.test_schedules import add_schedule, fire_due, runs_of_trigger
from tests.support.activity import activity
from tests.support.clock import FixedClock
from web.app import create_app

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
HOURS_0_TO_3 = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-23T03:00:00Z"}


def backfill(api: Api, trigger: dict[str, Any], body: Any) -> Response:
    return api.post(f"/api/routine-triggers/{trigger['id']}/backfill", body)


def backfilled(api: Api, trigger: dict[str, Any], body: Any) -> dict[str, Any]:
    response = backfill(api, trigger, body)
    assert response.status == 202, response.body
    return dict(response.body)


def hourly(api: Api, world: World, **fields: Any) -> dict[str, Any]:
    return add_schedule(api, world.routine, "0 * * * *", **fields)


def runs_by_tick(api: Api, world: World) -> dict[str, dict[str, Any]]:
    runs = api.ok("GET", f"/api/routines/{world.routine['id']}/runs?limit=200")
    return {run["scheduledFor"]: run for run in runs}


# Recording


def test_one_schedule_run_per_tick_in_the_half_open_range(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    body = backfilled(sched_api, trigger, HOURS_0_TO_3)
    assert (body["recorded"], body["skipped"]) == (3, 0)
    assert [run["scheduledFor"] for run in body["runs"]] == [
        "2026-11-23T00:00:00.000Z",  # `from` is in
        "2026-11-23T01:00:00.000Z",
        "2026-11-23T02:00:00.000Z",  # `to` (03:00) is out
    ]
    for run in body["runs"]:
        assert run["source"] == "schedule"
        assert run["status"] == "received"
        assert run["triggerId"] == trigger["id"]
        assert run["routineId"] == world.routine["id"]
        assert run["triggeredAt"] == "2026-11-23T09:00:00.000Z"
        assert run["trigger"] == {"id": trigger["id"], "kind": "schedule", "label": None}
    assert set(runs_by_tick(sched_api, world)) == {r["scheduledFor"] for r in body["runs"]}


def test_a_range_between_ticks_and_with_offsets_is_read_as_instants(sched_api: Api) -> None:
    trigger = hourly(sched_api, make_world(sched_api))
    body = backfilled(
        sched_api,
        trigger,
        {"from": "2026-11-23T01:00:00.001+01:00", "to": "2026-11-23T02:00:00.5Z"},
    )
    # [00:00:00.001Z, 02:00:00.5Z): 00:00 is just before it, 02:00 just inside
    assert [run["scheduledFor"] for run in body["runs"]] == [
        "2026-11-23T01:00:00.000Z",
        "2026-11-23T02:00:00.000Z",
    ]


def test_a_repeated_backfill_records_nothing_new(sched_api: Api, timed: Runtime) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    again = backfilled(sched_api, trigger, HOURS_0_TO_3)
    assert again == {"recorded": 0, "skipped": 3, "runs": []}
    assert len(runs_of_trigger(timed, trigger["id"])) == 3


def test_an_overlapping_backfill_skips_the_ticks_already_recorded(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    body = backfilled(
        sched_api, trigger, {"from": "2026-11-23T02:00:00Z", "to": "2026-11-23T05:00:00Z"}
    )
    assert (body["recorded"], body["skipped"]) == (2, 1)
    assert [run["scheduledFor"] for run in body["runs"]] == [
        "2026-11-23T03:00:00.000Z",
        "2026-11-23T04:00:00.000Z",
    ]
    assert len(runs_by_tick(sched_api, world)) == 5


def test_a_backfill_follows_daylight_saving_as_the_scheduler_does(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine, "30 2 * * *", timezone="Europe/Berlin")
    body = backfilled(
        sched_api, trigger, {"from": "2026-03-27T00:00:00Z", "to": "2026-03-31T00:00:00Z"}
    )
    assert [run["scheduledFor"] for run in body["runs"]] == [
        "2026-03-27T01:30:00.000Z",  # 02:30 CET
        "2026-03-28T01:30:00.000Z",
        "2026-03-29T01:00:00.000Z",  # no 02:30 that day: 03:00 CEST, just after the gap
        "2026-03-30T00:30:00.000Z",  # 02:30 CEST
    ]


def test_exactly_the_limit_of_ticks_is_allowed(sched_api: Api) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine, "* * * * *")
    body = backfilled(
        sched_api, trigger, {"from": "2026-11-22T00:00:00Z", "to": "2026-11-22T16:40:00Z"}
    )
    assert (body["recorded"], body["skipped"], len(body["runs"])) == (1000, 0, 1000)


def test_concurrent_backfills_of_one_range_record_each_tick_once(
    sched_api: Api, timed: Runtime
) -> None:
    trigger = hourly(sched_api, make_world(sched_api))
    apis = [Api(FlaskTransport(create_app(runtime=timed).test_client())) for _ in range(4)]
    bodies = all_at_once(4, lambda i: backfilled(apis[i], trigger, HOURS_0_TO_3))
    assert sum(body["recorded"] for body in bodies) == 3
    assert all(body["recorded"] + body["skipped"] == 3 for body in bodies)
    assert len(runs_of_trigger(timed, trigger["id"])) == 3


def test_a_backfill_racing_the_scheduler_over_a_due_tick_gives_it_one_run(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine, "* * * * *")
    assert trigger["nextRunAt"] == "2026-11-23T09:01:00.000Z"
    clock.advance(seconds=62)
    body = {"from": "2026-11-23T09:00:00Z", "to": "2026-11-23T09:01:02Z"}
    all_at_once(2, lambda i: fire_due(timed) if i else backfilled(sched_api, trigger, body))
    ticks = [run.scheduled_for for run in runs_of_trigger(timed, trigger["id"])]
    assert ticks == [CLOCK_START, datetime(2026, 11, 23, 9, 1, tzinfo=UTC)]


# Deciding


def test_backfilled_runs_are_decided_like_any_schedule_run(
    sched_api: Api, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api, title="Digest for {{ scheduledFor }}")
    trigger = hourly(sched_api, world)
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    drain()
    runs = runs_by_tick(sched_api, world)
    first, *rest = (runs[t] for t in sorted(runs))  # decided oldest tick first
    assert first["status"] == "issue_created"
    assert first["linkedIssue"]["title"] == "Digest for 2026-11-23T00:00:00.000Z"
    assert [run["status"] for run in rest] == ["coalesced", "coalesced"]  # coalesce_if_active
    assert all(run["linkedIssueId"] == first["linkedIssueId"] for run in rest)


def test_backfilled_runs_of_an_always_enqueue_routine_each_get_an_issue(
    sched_api: Api, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    backfilled(sched_api, hourly(sched_api, world), HOURS_0_TO_3)
    drain()
    runs = runs_by_tick(sched_api, world)
    in_order = [runs[t] for t in sorted(runs)]
    assert [run["status"] for run in in_order] == ["issue_created"] * 3
    identifiers = [run["linkedIssue"]["identifier"] for run in in_order]
    assert identifiers == sorted(identifiers, key=lambda i: int(i.rsplit("-", 1)[1]))


def test_backfilled_runs_of_a_paused_project_are_skipped(
    sched_api: Api, drain: Callable[[], None]
) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    sched_api.ok("POST", f"/api/projects/{world.project['id']}/pause", {})
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    drain()
    runs = runs_by_tick(sched_api, world).values()
    assert [(run["status"], run["failureReason"]) for run in runs] == [("skipped", "paused")] * 3


def test_backfilled_runs_carry_the_variable_defaults(
    sched_api: Api, drain: Callable[[], None]
) -> None:
    variables = [{"name": "team", "type": "text", "defaultValue": "Ops", "required": True}]
    world = make_world(sched_api, title="Report for {{ team }}", variables=variables)
    backfilled(sched_api, hourly(sched_api, world), HOURS_0_TO_3)
    drain()
    titles = {run["linkedIssue"]["title"] for run in runs_by_tick(sched_api, world).values()}
    assert titles == {"Report for Ops"}


# Rules


@pytest.mark.parametrize("kind", ["api", "webhook"])
def test_only_schedule_triggers_can_be_backfilled(sched_api: Api, kind: str) -> None:
    world = make_world(sched_api)
    path = f"/api/routines/{world.routine['id']}/triggers"
    trigger = sched_api.ok("POST", path, {"kind": kind})["trigger"]
    response = backfill(sched_api, trigger, HOURS_0_TO_3)
    assert (response.status, response.error) == (422, "Only schedule triggers can be backfilled")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"from": "2026-11-23T03:00:00Z", "to": "2026-11-23T03:00:00Z"},
            '"from" must be before "to"',
        ),
        (
            {"from": "2026-11-23T04:00:00Z", "to": "2026-11-23T03:00:00Z"},
            '"from" must be before "to"',
        ),
        (
            {"from": "2026-11-23T08:00:00Z", "to": "2026-11-23T09:00:00.001Z"},
            '"to" must not be after now',
        ),
        (
            {"from": "2026-11-24T00:00:00Z", "to": "2026-11-25T00:00:00Z"},
            '"to" must not be after now',
        ),
        (
            {"from": "1971-12-31T23:00:00Z", "to": "1972-01-01T01:00:00Z"},
            '"from" must not be before 1972-01-01T00:00:00.000Z',
        ),
        (
            {"from": "2026-11-22T00:00:00Z", "to": "2026-11-23T00:00:00Z"},
            "Backfill covers 1440 ticks; the limit is 1000",
        ),
        (
            {"from": "2026-11-22T00:00:00Z", "to": "2026-11-22T16:40:00.001Z"},
            "Backfill covers 1001 ticks; the limit is 1000",
        ),
    ],
)
def test_a_range_outside_the_rules_is_a_422(
    sched_api: Api, timed: Runtime, body: dict[str, str], message: str
) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine, "* * * * *")
    response = backfill(sched_api, trigger, body)
    assert (response.status, response.error) == (422, message)
    assert runs_of_trigger(timed, trigger["id"]) == []


def test_a_range_ending_now_is_allowed(sched_api: Api) -> None:
    trigger = hourly(sched_api, make_world(sched_api))
    body = backfilled(
        sched_api, trigger, {"from": "2026-11-23T08:00:00Z", "to": "2026-11-23T09:00:00Z"}
    )
    assert [run["scheduledFor"] for run in body["runs"]] == ["2026-11-23T08:00:00.000Z"]


def test_an_archived_routine_is_a_409(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    sched_api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})
    response = backfill(sched_api, trigger, HOURS_0_TO_3)
    assert (response.status, response.error) == (409, "Routine is archived")


def test_a_disabled_trigger_is_a_409(sched_api: Api, timed: Runtime) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    sched_api.ok("PATCH", f"/api/routine-triggers/{trigger['id']}", {"enabled": False})
    response = backfill(sched_api, trigger, HOURS_0_TO_3)
    assert (response.status, response.error) == (409, "Routine trigger is not active")
    assert runs_of_trigger(timed, trigger["id"]) == []


def test_a_paused_routine_may_be_backfilled_but_its_schedule_runs_do_not_fire(
    sched_api: Api, drain: Callable[[], None]
) -> None:
    """Only archived is refused (as for a manual run); the runs are schedule runs, though,
    and a schedule run of a routine that is not active is decided as not fired."""
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    sched_api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "paused"})
    assert backfilled(sched_api, trigger, HOURS_0_TO_3)["recorded"] == 3
    drain()
    runs = runs_by_tick(sched_api, world).values()
    assert {(run["linkedIssueId"], run["failureReason"]) for run in runs} == {
        (None, "Routine is not active")
    }


@pytest.mark.parametrize("trigger_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_trigger_is_a_404(sched_api: Api, trigger_id: str) -> None:
    response = backfill(sched_api, {"id": trigger_id}, HOURS_0_TO_3)
    assert (response.status, response.error) == (404, "Routine trigger not found")


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, [["from"], ["to"]]),
        ({"from": "2026-11-23T00:00:00Z"}, [["to"]]),
        ({"from": "2026-11-23T00:00:00", "to": "2026-11-23T03:00:00Z"}, [["from"]]),
        ({"from": "2026-11-23", "to": "2026-11-23T03:00:00Z"}, [["from"]]),
        ({"from": 1763856000, "to": "2026-11-23T03:00:00Z"}, [["from"]]),
        ({"from": None, "to": "yesterday"}, [["from"], ["to"]]),
        ({"from": "2026-11-23T00:00:00Z", "to": "2026-02-30T00:00:00Z"}, [["to"]]),
        ({"from": "0001-01-01T00:00:00+05:00", "to": "2026-11-23T03:00:00Z"}, [["from"]]),
    ],
)
def test_a_malformed_range_is_a_400(
    sched_api: Api, body: dict[str, Any], paths: list[list[str]]
) -> None:
    trigger = hourly(sched_api, make_world(sched_api))
    response = backfill(sched_api, trigger, body)
    assert (response.status, response.error) == (400, "Validation error")
    assert [d["path"] for d in response.body["details"]] == paths


def test_a_body_that_is_not_an_object_is_a_400(sched_api: Api) -> None:
    trigger = hourly(sched_api, make_world(sched_api))
    assert backfill(sched_api, trigger, [HOURS_0_TO_3]).status == 400


# Who may: as for a manual run


def test_who_may_backfill_is_who_may_run_by_hand(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    beta = make_company(sched_api, "Beta")
    refused = {
        "member without tasks:assign": (make_member(sched_api, world.company), 403),
        "another agent of the company": (
            make_agent_token(sched_api, make_agent(sched_api, world.company, name="Other")),
            403,
        ),
        "agent of another company": (make_agent_token(sched_api, make_agent(sched_api, beta)), 404),
        "member of another company": (make_member(sched_api, beta, ["tasks:assign"]), 404),
        "nobody": (None, 401),
    }
    for who, (token, status) in refused.items():
        response = backfill(sched_api.as_(token), trigger, HOURS_0_TO_3)
        assert response.status == status, who
        manual = sched_api.as_(token).post(f"/api/routines/{world.routine['id']}/run", {})
        assert manual.status == status, who
    allowed = [
        make_member(sched_api, world.company, ["tasks:assign"]),
        make_agent_token(sched_api, world.agent),
    ]
    recorded = [backfilled(sched_api.as_(t), trigger, HOURS_0_TO_3)["recorded"] for t in allowed]
    assert recorded == [3, 0]


def test_a_backfill_writes_one_activity_entry_with_its_range_and_counts(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = hourly(sched_api, world)
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    backfilled(sched_api, trigger, HOURS_0_TO_3)
    entries = activity(sched_api, world.company, f"?entityType=trigger&entityId={trigger['id']}")
    done = [entry for entry in entries if entry["action"] == "trigger.backfilled"]
    span = {"from": "2026-11-23T00:00:00.000Z", "to": "2026-11-23T03:00:00.000Z"}
    assert [entry["details"] for entry in done] == [
        {**span, "recorded": 0, "skipped": 3},
        {**span, "recorded": 3, "skipped": 0},
    ]
    assert {entry["actorType"] for entry in done} == {"admin"}
