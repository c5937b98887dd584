"""A fire travels request -> received run -> worker decision -> issue, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from devstack.api import Api, fire, make_world


def runs_of(api: Api, routine: dict) -> list[dict]:
    return api.ok("GET", f"/api/routines/{routine['id']}/runs")


def execution_issues(api: Api, world) -> list[dict]:
    company = world.company["id"]
    return api.ok(
        "GET",
        f"/api/companies/{company}/issues?originKind=routine_execution"
        f"&originId={world.routine['id']}",
    )


def test_manual_run_answers_202_with_the_recorded_run(api: Api) -> None:
    world = make_world(api)
    response = api.post(f"/api/routines/{world.routine['id']}/run", {})
    assert response.status == 202
    assert response.body["status"] == "received"
    assert response.body["source"] == "manual"
    assert response.body["routineId"] == world.routine["id"]
    assert response.body["linkedIssue"] is None


def test_three_runs_of_a_coalescing_routine_give_one_issue(api: Api, drain: Callable) -> None:
    world = make_world(api, concurrencyPolicy="coalesce_if_active")
    fired = [fire(api, world.routine)["id"] for _ in range(3)]
    drain()
    runs = {run["id"]: run for run in runs_of(api, world.routine)}
    issues = execution_issues(api, world)
    assert len(issues) == 1
    creator = runs[fired[0]]
    assert creator["status"] == "issue_created"
    assert creator["linkedIssueId"] == issues[0]["id"]
    for run_id in fired[1:]:
        assert runs[run_id]["status"] == "coalesced"
        assert runs[run_id]["linkedIssueId"] == issues[0]["id"]
        assert runs[run_id]["coalescedIntoRunId"] == creator["id"]
        assert runs[run_id]["completedAt"] is not None


def test_always_enqueue_creates_an_issue_per_run(api: Api, drain: Callable) -> None:
    world = make_world(api, concurrencyPolicy="always_enqueue")
    for _ in range(3):
        fire(api, world.routine)
    drain()
    assert len(execution_issues(api, world)) == 3
    assert {run["status"] for run in runs_of(api, world.routine)} == {"issue_created"}


def test_skip_if_active_skips_while_the_issue_is_live(api: Api, drain: Callable) -> None:
    world = make_world(api, concurrencyPolicy="skip_if_active")
    fire(api, world.routine)
    drain()
    fire(api, world.routine)
    drain()
    newest, first = runs_of(api, world.routine)
    assert first["status"] == "issue_created"
    assert newest["status"] == "skipped"
    assert newest["failureReason"] is None
    assert newest["linkedIssueId"] == first["linkedIssueId"]


def test_execution_issue_is_built_from_the_routine(api: Api, drain: Callable) -> None:
    world = make_world(api, title="Report for {{date}}", priority="high")
    run = fire(api, world.routine)
    drain()
    issue = execution_issues(api, world)[0]
    assert issue["title"] == f"Report for {run['triggeredAt'][:10]}"
    assert issue["status"] == "todo"
    assert issue["priority"] == "high"
    assert issue["assigneeAgentId"] == world.agent["id"]
    assert issue["projectId"] == world.project["id"]
    assert issue["originKind"] == "routine_execution"
    assert issue["originId"] == world.routine["id"]
    assert issue["originRunId"] == run["id"]
    assert issue["identifier"] == f"{world.company['issuePrefix']}-1"


def test_decision_updates_routine_and_trigger(api: Api, drain: Callable) -> None:
    world = make_world(api)
    trigger = api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "api"})
    fire(api, world.routine, source="api", triggerId=trigger["trigger"]["id"])
    drain()
    detail = api.ok("GET", f"/api/routines/{world.routine['id']}")
    issue_id = detail["activeIssue"]["id"]
    assert detail["lastTriggeredAt"] is not None
    assert detail["lastEnqueuedAt"] is not None
    assert detail["triggers"][0]["lastResult"] == f"Created execution issue {issue_id}"
    assert detail["triggers"][0]["lastFiredAt"] is not None
    assert detail["recentRuns"][0]["trigger"]["kind"] == "api"


def test_issue_done_completes_the_run(api: Api, drain: Callable) -> None:
    world = make_world(api)
    fire(api, world.routine)
    drain()
    issue = execution_issues(api, world)[0]
    api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "done"})
    (run,) = runs_of(api, world.routine)
    assert run["status"] == "completed"
    assert run["completedAt"] is not None


def test_issue_cancelled_or_blocked_fails_the_run_and_reopening_restores_it(
    api: Api, drain: Callable
) -> None:
    world = make_world(api)
    fire(api, world.routine)
    drain()
    issue = execution_issues(api, world)[0]
    api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "blocked"})
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("failed", "Execution issue moved to blocked")
    api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "in_progress"})
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("issue_created", None)
    api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "cancelled"})
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("failed", "Execution issue moved to cancelled")


def test_a_finished_issue_lets_the_next_run_create_a_new_one(api: Api, drain: Callable) -> None:
    world = make_world(api)
    fire(api, world.routine)
    drain()
    first = execution_issues(api, world)[0]
    api.ok("PATCH", f"/api/issues/{first['id']}", {"status": "done"})
    fire(api, world.routine)
    drain()
    assert len(execution_issues(api, world)) == 2


def test_paused_project_skips_with_reason_paused(api: Api, drain: Callable) -> None:
    world = make_world(api)
    api.ok("POST", f"/api/projects/{world.project['id']}/pause", {"reason": "freeze"})
    fire(api, world.routine)
    drain()
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("skipped", "paused")
    assert execution_issues(api, world) == []


def test_routine_archived_after_accepting_skips_the_run(api: Api, drain: Callable) -> None:
    world = make_world(api)
    fire(api, world.routine)
    api.ok("PATCH", f"/api/routines/{world.routine['id']}", {"status": "archived"})
    drain()
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("skipped", "Routine is archived")


def test_terminated_assignee_fails_the_run_with_a_reason(api: Api, drain: Callable) -> None:
    world = make_world(api)
    fire(api, world.routine)
    api.ok("PATCH", f"/api/agents/{world.agent['id']}", {"status": "terminated"})
    drain()
    (run,) = runs_of(api, world.routine)
    assert (run["status"], run["failureReason"]) == ("failed", "Assignee agent is terminated")
