"""Previewing fire times: GET /api/routine-triggers/{id}/next-runs and POST
/api/cron/preview, on PostgreSQL with a FixedClock; across daylight saving the preview is
checked against what the scheduler then fires."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from devstack.api import Api, make_agent, make_agent_token, make_company, make_member, make_world
from shared.contract.timefmt import iso
from shared.models import RoutineTrigger
from shared.platform.runtime import Runtime
from tests.integration.test_schedules import add_schedule, fire_due, runs_of_trigger
from tests.support.clock import FixedClock

CLOCK_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday, on a minute


def next_runs(api: Api, trigger: dict, query: str = "") -> dict:
    return api.ok("GET", f"/api/routine-triggers/{trigger['id']}/next-runs{query}")


def preview(api: Api, body: object) -> dict:
    return api.ok("POST", "/api/cron/preview", body)


def scheduler_fires(timed: Runtime, clock: FixedClock, trigger: dict, ticks: int) -> list[str]:
    """Let the scheduler fire `ticks` times, each just after the trigger's stored next
    run, and say which ticks it recorded."""
    for _ in range(ticks):
        with timed.sessions() as session:
            stored = session.get(RoutineTrigger, uuid.UUID(trigger["id"]))
            assert stored is not None
            assert stored.next_run_at is not None
            clock._at = stored.next_run_at + timedelta(seconds=1)
        assert fire_due(timed) == 1
    return [iso(run.scheduled_for) for run in runs_of_trigger(timed, trigger["id"])]


# A saved trigger


def test_next_runs_lists_ten_ticks_strictly_after_now_by_default(sched_api: Api) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine, "*/15 * * * *")
    body = next_runs(sched_api, trigger)
    assert body == {
        "triggerId": trigger["id"],
        "cronExpression": "*/15 * * * *",
        "timezone": "UTC",
        "times": [iso(CLOCK_START + timedelta(minutes=15 * n)) for n in range(1, 11)],
    }
    assert body["times"][0] == "2026-11-23T09:15:00.000Z"


def test_next_runs_follows_the_injected_clock_not_the_wall_clock(
    sched_api: Api, clock: FixedClock
) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine, "0 9 * * *")
    clock.advance(days=400)
    assert next_runs(sched_api, trigger, "?count=1")["times"] == ["2027-12-29T09:00:00.000Z"]


@pytest.mark.parametrize("count", [1, 37, 100])
def test_next_runs_lists_as_many_as_asked(sched_api: Api, count: int) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine)
    times = next_runs(sched_api, trigger, f"?count={count}")["times"]
    assert len(times) == count
    assert times[-1] == iso(CLOCK_START + timedelta(minutes=count))


@pytest.mark.parametrize("count", ["0", "101", "-1", "1.5", "ten", "", "%20", "1e2", "0010000"])
def test_a_count_outside_1_to_100_is_a_400(sched_api: Api, count: str) -> None:
    trigger = add_schedule(sched_api, make_world(sched_api).routine)
    response = sched_api.get(f"/api/routine-triggers/{trigger['id']}/next-runs?count={count}")
    assert response.status == 400
    assert response.error == "Validation error"
    assert response.body["details"][0]["path"] == ["count"]


@pytest.mark.parametrize("kind", ["api", "webhook"])
def test_only_schedule_triggers_have_fire_times(sched_api: Api, kind: str) -> None:
    world = make_world(sched_api)
    path = f"/api/routines/{world.routine['id']}/triggers"
    trigger = sched_api.ok("POST", path, {"kind": kind})["trigger"]
    response = sched_api.get(f"/api/routine-triggers/{trigger['id']}/next-runs")
    assert (response.status, response.error) == (422, "Only schedule triggers have fire times")


@pytest.mark.parametrize("trigger_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_trigger_is_a_404(sched_api: Api, trigger_id: str) -> None:
    response = sched_api.get(f"/api/routine-triggers/{trigger_id}/next-runs")
    assert (response.status, response.error) == (404, "Routine trigger not found")


def test_next_runs_are_readable_by_the_company_and_hidden_from_others(sched_api: Api) -> None:
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine, "0 9 * * *")
    path = f"/api/routine-triggers/{trigger['id']}/next-runs?count=2"
    other = make_agent(sched_api, world.company, name="Other")
    readers = [
        make_member(sched_api, world.company),  # no tasks:assign: reading needs none
        make_agent_token(sched_api, other),  # not its routine: reading is still allowed
    ]
    for token in readers:
        assert sched_api.as_(token).ok("GET", path)["times"][0] == "2026-11-24T09:00:00.000Z"
    beta = make_company(sched_api, "Beta")
    outsiders = [
        make_member(sched_api, beta, ["tasks:assign"]),
        make_agent_token(sched_api, make_agent(sched_api, beta)),
    ]
    for token in outsiders:
        response = sched_api.as_(token).get(path)
        assert (response.status, response.error) == (404, "Routine trigger not found")
    assert sched_api.as_(None).get(path).status == 401


# Daylight saving: the preview is what the scheduler fires


def test_a_preview_across_spring_forward_is_what_the_scheduler_fires(
    sched_api: Api, timed: Runtime, clock: FixedClock
) -> None:
    clock._at = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)  # Berlin springs forward on the 28th
    world = make_world(sched_api)
    trigger = add_schedule(sched_api, world.routine, "30 2 * * *", timezone="Europe/Berlin")
    times = next_runs(sched_api, trigger, "?count=4")["times"]
    assert times == [
        "2027-03-27T01:30:00.000Z",  # 02:30 CET
        "2027-03-28T01:00:00.000Z",  # 02:30 does not exist: 03:00 CEST, just after the gap
        "2027-03-29T00:30:00.000Z",  # 02:30 CEST
        "2027-03-30T00:30:00.000Z",
    ]
    assert scheduler_fires(timed, clock, trigger, 4) == times


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        (
            "30 2 * * *",  # a fixed time: the first 02:30 only
            [
                "2027-10-30T00:30:00.000Z",
                "2027-10-31T00:30:00.000Z",
                "2027-11-01T01:30:00.000Z",
                "2027-11-02T01:30:00.000Z",
            ],
        ),
        (
            "30 * * * *",  # every hour: both 02:30s
            [
                "2027-10-30T23:30:00.000Z",
                "2027-10-31T00:30:00.000Z",
                "2027-10-31T01:30:00.000Z",
                "2027-10-31T02:30:00.000Z",
            ],
        ),
    ],
)
def test_a_preview_across_fall_back_is_what_the_scheduler_fires(
    sched_api: Api, timed: Runtime, clock: FixedClock, cron: str, expected: list[str]
) -> None:
    clock._at = (
        datetime(2027, 10, 30, 23, 10, tzinfo=UTC)
        if "*" in cron.split()[1]
        else (datetime(2027, 10, 29, 12, 0, tzinfo=UTC))
    )
    world = make_world(sched_api, concurrencyPolicy="always_enqueue")
    trigger = add_schedule(sched_api, world.routine, cron, timezone="Europe/Berlin")
    times = next_runs(sched_api, trigger, "?count=4")["times"]
    assert times == expected
    assert scheduler_fires(timed, clock, trigger, 4) == times


# An unsaved expression


def test_cron_preview_answers_for_an_expression_saved_nowhere(sched_api: Api) -> None:
    body = preview(sched_api, {"cronExpression": "0 9 * * 1-5", "timezone": "Asia/Shanghai"})
    assert body == {
        "cronExpression": "0 9 * * 1-5",
        "timezone": "Asia/Shanghai",
        "times": [
            "2026-11-24T01:00:00.000Z",  # Tuesday 09:00 in Shanghai; Monday's has passed
            "2026-11-25T01:00:00.000Z",
            "2026-11-26T01:00:00.000Z",
            "2026-11-27T01:00:00.000Z",
            "2026-11-30T01:00:00.000Z",  # the weekend skipped
            "2026-12-01T01:00:00.000Z",
            "2026-12-02T01:00:00.000Z",
            "2026-12-03T01:00:00.000Z",
            "2026-12-04T01:00:00.000Z",
            "2026-12-07T01:00:00.000Z",
        ],
    }


def test_cron_preview_defaults_to_utc_and_takes_a_count(sched_api: Api) -> None:
    body = preview(sched_api, {"cronExpression": " @hourly ", "count": 2})
    assert body == {
        "cronExpression": "@hourly",
        "timezone": "UTC",
        "times": ["2026-11-23T10:00:00.000Z", "2026-11-23T11:00:00.000Z"],
    }


def test_cron_preview_and_a_saved_trigger_agree(sched_api: Api) -> None:
    trigger = add_schedule(
        sched_api, make_world(sched_api).routine, "*/7 9-17 * * *", timezone="America/New_York"
    )
    saved = next_runs(sched_api, trigger, "?count=50")
    unsaved = preview(
        sched_api,
        {"cronExpression": "*/7 9-17 * * *", "timezone": "America/New_York", "count": 50},
    )
    assert unsaved["times"] == saved["times"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cronExpression": "0 0 9 * * 1"},
            'Cron expression must have exactly 5 fields, got 6: "0 0 9 * * 1"',
        ),
        ({"cronExpression": "61 * * * *"}, "Value 61 out of range [0–59] for cron minute field"),  # noqa: RUF001
        (
            {"cronExpression": "* * * * *", "timezone": "Mars/Olympus"},
            "Invalid timezone: Mars/Olympus",
        ),
        ({"cronExpression": "  "}, "Cron expression is required"),
    ],
)
def test_a_bad_expression_or_zone_is_the_422_trigger_creation_gives(
    sched_api: Api, fields: dict, message: str
) -> None:
    world = make_world(sched_api)
    created = sched_api.post(
        f"/api/routines/{world.routine['id']}/triggers", {"kind": "schedule", **fields}
    )
    previewed = sched_api.post("/api/cron/preview", fields)
    assert (previewed.status, previewed.error) == (422, message)
    assert (created.status, created.error) == (422, message)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "cronExpression"),
        ({"cronExpression": 5}, "cronExpression"),
        ({"cronExpression": "* * * * *", "timezone": None}, "timezone"),
        ({"cronExpression": "* * * * *", "count": 0}, "count"),
        ({"cronExpression": "* * * * *", "count": 101}, "count"),
        ({"cronExpression": "* * * * *", "count": 2.5}, "count"),
        ({"cronExpression": "* * * * *", "count": "3"}, "count"),
        ({"cronExpression": "* * * * *", "count": True}, "count"),
    ],
)
def test_a_malformed_preview_body_is_a_400(sched_api: Api, body: dict, path: str) -> None:
    response = sched_api.post("/api/cron/preview", body)
    assert (response.status, response.error) == (400, "Validation error")
    assert [d["path"] for d in response.body["details"]] == [[path]]


def test_a_preview_body_that_is_not_an_object_is_a_400(sched_api: Api) -> None:
    response = sched_api.post("/api/cron/preview", ["* * * * *"])
    assert response.status == 400


def test_any_authenticated_principal_may_preview_but_nobody_anonymous(sched_api: Api) -> None:
    world = make_world(sched_api)
    beta = make_company(sched_api, "Beta")
    tokens = [
        make_member(sched_api, world.company),
        make_agent_token(sched_api, world.agent),
        make_agent_token(sched_api, make_agent(sched_api, beta)),
    ]
    for token in tokens:
        body = sched_api.as_(token).ok(
            "POST", "/api/cron/preview", {"cronExpression": "@daily", "count": 1}
        )
        assert body["times"] == ["2026-11-24T00:00:00.000Z"]
    response = sched_api.as_(None).post("/api/cron/preview", {"cronExpression": "@daily"})
    assert (response.status, response.body) == (401, {"error": "Unauthorized"})
