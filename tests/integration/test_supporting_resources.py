"""The minimal control plane around routines (API.md section 2)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devstack.api import (
    Api,
    fire,
    make_agent,
    make_company,
    make_project,
    make_world,
)

ISO_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$"


def make_issue(api: Api, company: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"title": "Chore", **fields}
    return api.ok("POST", f"/api/companies/{company['id']}/issues", body, status=201)


def issues(api: Api, company: dict[str, Any], query: str = "") -> list[str]:
    """Titles of the company's issues matching a query string."""
    listed = api.ok("GET", f"/api/companies/{company['id']}/issues{query}")
    return sorted(issue["title"] for issue in listed)


# Companies


def test_a_company_is_created_with_an_issue_prefix_derived_from_its_name(api: Api) -> None:
    response = api.post("/api/companies", {"name": "Acme"})
    assert response.status == 201
    assert set(response.body) == {"id", "name", "issuePrefix", "createdAt", "updatedAt"}
    assert response.body["name"] == "Acme"
    assert response.body["issuePrefix"] == "ACME"
    assert re.match(ISO_UTC, response.body["createdAt"])
    assert re.match(ISO_UTC, response.body["updatedAt"])
    uuid.UUID(response.body["id"])
    assert api.ok("GET", f"/api/companies/{response.body['id']}") == response.body


def test_a_derived_issue_prefix_is_short_uppercase_and_from_the_name(api: Api) -> None:
    prefix = make_company(api, "globex corporation")["issuePrefix"]
    assert prefix
    assert prefix.isalnum()
    assert prefix.isupper()
    assert "GLOBEXCORPORATION".startswith(prefix)


def test_an_explicit_issue_prefix_is_kept_and_used_by_identifiers(api: Api) -> None:
    company = make_company(api, "Initech", issuePrefix="OPS")
    assert company["issuePrefix"] == "OPS"
    assert make_issue(api, company)["identifier"] == "OPS-1"


@pytest.mark.parametrize("company_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_company_is_not_found(api: Api, company_id: str) -> None:
    for path in (f"/api/companies/{company_id}", f"/api/companies/{company_id}/routines"):
        response = api.get(path)
        assert (response.status, response.body) == (404, {"error": "Company not found"})


def test_a_company_without_a_name_is_a_validation_error(api: Api) -> None:
    response = api.post("/api/companies", {"name": "   "})
    assert (response.status, response.error) == (400, "Validation error")
    assert [d["path"] for d in response.body["details"]] == [["name"]]


# Agents


def test_an_agent_is_created_active_with_its_role_and_title(api: Api) -> None:
    company = make_company(api)
    response = api.post(
        f"/api/companies/{company['id']}/agents",
        {"name": "Builder", "role": "engineer", "title": "Release bot"},
    )
    assert response.status == 201
    agent = response.body
    assert {k: agent[k] for k in ("companyId", "name", "role", "title", "status")} == {
        "companyId": company["id"],
        "name": "Builder",
        "role": "engineer",
        "title": "Release bot",
        "status": "active",
    }
    assert {"id", "createdAt", "updatedAt"} <= set(agent)
    assert api.ok("GET", f"/api/agents/{agent['id']}") == agent


def test_agents_are_listed_per_company(api: Api) -> None:
    first, second = make_company(api, "One"), make_company(api, "Two")
    a1 = make_agent(api, first, name="A1")
    a2 = make_agent(api, first, name="A2")
    make_agent(api, second, name="B1")
    listed = api.ok("GET", f"/api/companies/{first['id']}/agents")
    assert [a["id"] for a in listed] == [a1["id"], a2["id"]]


def test_an_agent_can_be_renamed_and_its_status_changed(api: Api) -> None:
    agent = make_agent(api, make_company(api))
    patched = api.ok("PATCH", f"/api/agents/{agent['id']}", {"name": "Renamed", "status": "idle"})
    assert (patched["name"], patched["status"]) == ("Renamed", "idle")
    assert patched["role"] == agent["role"]
    fetched = api.ok("GET", f"/api/agents/{agent['id']}")
    assert (fetched["name"], fetched["status"]) == ("Renamed", "idle")


@pytest.mark.parametrize(
    "status", ["active", "paused", "idle", "running", "error", "pending_approval", "terminated"]
)
def test_every_agent_status_of_the_contract_is_accepted(api: Api, status: str) -> None:
    agent = make_agent(api, make_company(api))
    assert api.ok("PATCH", f"/api/agents/{agent['id']}", {"status": status})["status"] == status


def test_an_unknown_agent_status_is_a_validation_error_and_changes_nothing(api: Api) -> None:
    agent = make_agent(api, make_company(api))
    response = api.patch(f"/api/agents/{agent['id']}", {"status": "sleeping"})
    assert response.status == 400
    assert response.error == "Validation error"
    assert [d["path"] for d in response.body["details"]] == [["status"]]
    assert all(isinstance(d["message"], str) and d["message"] for d in response.body["details"])
    assert api.ok("GET", f"/api/agents/{agent['id']}")["status"] == "active"


def test_creating_an_agent_with_an_unknown_status_is_a_validation_error(api: Api) -> None:
    company = make_company(api)
    response = api.post(f"/api/companies/{company['id']}/agents", {"name": "X", "status": "nap"})
    assert (response.status, response.error) == (400, "Validation error")
    assert api.ok("GET", f"/api/companies/{company['id']}/agents") == []


# Projects


def test_a_project_is_created_listed_fetched_and_patched(api: Api) -> None:
    company = make_company(api)
    response = api.post(
        f"/api/companies/{company['id']}/projects", {"name": "Infra", "description": "Servers"}
    )
    assert response.status == 201
    project = response.body
    assert {k: project[k] for k in ("companyId", "name", "description")} == {
        "companyId": company["id"],
        "name": "Infra",
        "description": "Servers",
    }
    assert (project["pausedAt"], project["pauseReason"]) == (None, None)
    assert {"id", "status", "createdAt", "updatedAt"} <= set(project)
    assert api.ok("GET", f"/api/companies/{company['id']}/projects") == [project]
    assert api.ok("GET", f"/api/projects/{project['id']}") == project

    patched = api.ok("PATCH", f"/api/projects/{project['id']}", {"name": "Platform"})

    assert (patched["name"], patched["description"]) == ("Platform", "Servers")
    assert api.ok("GET", f"/api/projects/{project['id']}")["name"] == "Platform"


def test_pausing_a_project_records_when_and_why_and_resuming_clears_both(api: Api) -> None:
    project = make_project(api, make_company(api))
    paused = api.ok("POST", f"/api/projects/{project['id']}/pause", {"reason": "Code freeze"})
    assert paused["pausedAt"] is not None
    assert paused["pauseReason"] == "Code freeze"
    assert api.ok("GET", f"/api/projects/{project['id']}")["pausedAt"] == paused["pausedAt"]

    resumed = api.ok("POST", f"/api/projects/{project['id']}/resume")

    assert (resumed["pausedAt"], resumed["pauseReason"]) == (None, None)
    fetched = api.ok("GET", f"/api/projects/{project['id']}")
    assert (fetched["pausedAt"], fetched["pauseReason"]) == (None, None)


def test_a_project_can_be_paused_without_a_reason(api: Api) -> None:
    project = make_project(api, make_company(api))
    paused = api.ok("POST", f"/api/projects/{project['id']}/pause")
    assert paused["pausedAt"] is not None
    assert paused["pauseReason"] is None


# Goals


def test_a_goal_is_created_listed_and_fetched(api: Api) -> None:
    company = make_company(api)
    response = api.post(
        f"/api/companies/{company['id']}/goals", {"title": "Ship v2", "description": "By June"}
    )
    assert response.status == 201
    goal = response.body
    assert {k: goal[k] for k in ("companyId", "title", "description")} == {
        "companyId": company["id"],
        "title": "Ship v2",
        "description": "By June",
    }
    assert api.ok("GET", f"/api/companies/{company['id']}/goals") == [goal]
    assert api.ok("GET", f"/api/goals/{goal['id']}") == goal


def test_a_goal_without_a_title_is_a_validation_error(api: Api) -> None:
    company = make_company(api)
    response = api.post(f"/api/companies/{company['id']}/goals", {"description": "no title"})
    assert (response.status, response.error) == (400, "Validation error")
    assert api.ok("GET", f"/api/companies/{company['id']}/goals") == []


# Issues


def test_an_issue_is_created_with_the_contract_fields(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    project = make_project(api, company)
    issue = make_issue(
        api,
        company,
        title="Rotate keys",
        description="All of them",
        priority="high",
        assigneeAgentId=agent["id"],
        projectId=project["id"],
    )
    assert {k: issue[k] for k in ("companyId", "title", "description", "priority")} == {
        "companyId": company["id"],
        "title": "Rotate keys",
        "description": "All of them",
        "priority": "high",
    }
    assert (issue["assigneeAgentId"], issue["projectId"]) == (agent["id"], project["id"])
    assert issue["status"] == "todo"
    assert issue["originKind"] is None
    assert issue["originRunId"] is None
    assert (issue["completedAt"], issue["cancelledAt"]) == (None, None)
    assert issue["createdByUserId"] is None
    assert issue["createdByAgentId"] is None
    assert api.ok("GET", f"/api/issues/{issue['id']}") == issue


def test_issue_identifiers_follow_a_sequence_per_company(api: Api) -> None:
    alpha = make_company(api, "Alpha", issuePrefix="ALP")
    beta = make_company(api, "Beta", issuePrefix="BET")
    made = [
        make_issue(api, alpha)["identifier"],
        make_issue(api, beta)["identifier"],
        make_issue(api, alpha)["identifier"],
        make_issue(api, beta)["identifier"],
        make_issue(api, beta)["identifier"],
    ]
    assert made == ["ALP-1", "BET-1", "ALP-2", "BET-2", "BET-3"]


def test_execution_issues_share_the_company_sequence(api: Api, drain: Callable) -> None:
    world = make_world(api)
    make_issue(api, world.company)
    fire(api, world.routine)
    drain()
    prefix = world.company["issuePrefix"]
    listed = api.ok("GET", f"/api/companies/{world.company['id']}/issues")
    assert sorted(issue["identifier"] for issue in listed) == [f"{prefix}-1", f"{prefix}-2"]


def test_issues_are_filtered_by_status(api: Api) -> None:
    company = make_company(api)
    make_issue(api, company, title="todo")
    make_issue(api, company, title="doing", status="in_progress")
    make_issue(api, company, title="blocked", status="blocked")
    assert issues(api, company, "?status=in_progress") == ["doing"]
    assert issues(api, company, "?status=todo") == ["todo"]
    assert issues(api, company) == ["blocked", "doing", "todo"]


def test_issues_are_filtered_by_assignee(api: Api) -> None:
    company = make_company(api)
    mine, theirs = make_agent(api, company, name="Mine"), make_agent(api, company, name="Theirs")
    make_issue(api, company, title="for mine", assigneeAgentId=mine["id"])
    make_issue(api, company, title="for theirs", assigneeAgentId=theirs["id"])
    make_issue(api, company, title="unassigned")
    assert issues(api, company, f"?assigneeAgentId={mine['id']}") == ["for mine"]


def test_issues_are_filtered_by_origin(api: Api, drain: Callable) -> None:
    world = make_world(api, title="Routine work")
    other = api.ok(
        "POST",
        f"/api/companies/{world.company['id']}/routines",
        {"title": "Other routine", "assigneeAgentId": world.agent["id"]},
    )
    make_issue(api, world.company, title="hand made")
    fire(api, world.routine)
    fire(api, other)
    drain()
    assert issues(api, world.company, "?originKind=routine_execution") == [
        "Other routine",
        "Routine work",
    ]
    assert issues(api, world.company, f"?originId={world.routine['id']}") == ["Routine work"]
    both = f"?originKind=routine_execution&originId={other['id']}&status=todo"
    assert issues(api, world.company, both) == ["Other routine"]


def test_an_issue_moved_to_done_records_when_it_was_completed(api: Api) -> None:
    issue = make_issue(api, make_company(api))
    done = api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "done"})
    assert done["status"] == "done"
    assert done["completedAt"] is not None
    assert done["cancelledAt"] is None
    assert api.ok("GET", f"/api/issues/{issue['id']}")["completedAt"] == done["completedAt"]


def test_an_issue_moved_to_cancelled_records_when_it_was_cancelled(api: Api) -> None:
    issue = make_issue(api, make_company(api))
    cancelled = api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "cancelled"})
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancelledAt"] is not None
    assert cancelled["completedAt"] is None


def test_an_issue_moved_between_open_statuses_has_no_end_time(api: Api) -> None:
    issue = make_issue(api, make_company(api))
    moved = api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "in_review"})
    assert moved["status"] == "in_review"
    assert (moved["completedAt"], moved["cancelledAt"]) == (None, None)


def test_an_issue_is_patched_field_by_field(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    issue = make_issue(api, company, title="Draft", description="keep me")
    patched = api.ok(
        "PATCH",
        f"/api/issues/{issue['id']}",
        {"title": "Final", "priority": "critical", "assigneeAgentId": agent["id"]},
    )
    assert (patched["title"], patched["priority"]) == ("Final", "critical")
    assert patched["assigneeAgentId"] == agent["id"]
    assert patched["description"] == "keep me"
    assert patched["identifier"] == issue["identifier"]


def test_an_unknown_issue_status_is_a_validation_error(api: Api) -> None:
    issue = make_issue(api, make_company(api))
    response = api.patch(f"/api/issues/{issue['id']}", {"status": "finished"})
    assert (response.status, response.error) == (400, "Validation error")
    assert api.ok("GET", f"/api/issues/{issue['id']}")["status"] == "todo"


def test_an_issue_cannot_point_at_another_companys_project(api: Api) -> None:
    company, other = make_company(api, "One"), make_company(api, "Two")
    foreign = make_project(api, other)
    response = api.post(
        f"/api/companies/{company['id']}/issues", {"title": "x", "projectId": foreign["id"]}
    )
    assert (response.status, response.error) == (422, "Project must belong to same company")
    assert issues(api, company) == []
