"""What a routine refers to (API.md 3): a goal, a parent issue, a project and an assignee
must exist, belong to the routine's company and, for an assignee, be able to work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devstack.api import (
    Api,
    make_agent,
    make_company,
    make_project,
    make_routine,
    make_world,
)
from tests.support.routines import create, listed, patch, stored


def _goal(api: Api, company: dict[str, Any]) -> str:
    return str(api.ok("POST", f"/api/companies/{company['id']}/goals", {"title": "G"})["id"])


def _issue(api: Api, company: dict[str, Any]) -> str:
    return str(api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "P"})["id"])


REFERENCES = [
    ("projectId", lambda api, c: make_project(api, c)["id"], "Project"),
    ("goalId", _goal, "Goal"),
    ("parentIssueId", _issue, "Parent issue"),
]


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_missing_reference_is_not_found(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "R", field: str(uuid.uuid4())})
    assert (response.status, response.error) == (404, f"{label} not found")
    assert listed(api, company) == []


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_reference_into_another_company_is_unprocessable(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company, other = make_company(api, "Mine"), make_company(api, "Theirs")
    response = create(api, company, {"title": "R", field: build(api, other)})
    assert (response.status, response.error) == (422, f"{label} must belong to same company")
    assert listed(api, company) == []


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_reference_of_the_same_company_is_kept(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    company = make_company(api)
    reference = build(api, company)
    assert make_routine(api, company, None, **{field: reference})[field] == reference


def test_a_missing_assignee_is_not_found(api: Api) -> None:
    company = make_company(api)
    response = create(api, company, {"title": "R", "assigneeAgentId": str(uuid.uuid4())})
    assert (response.status, response.error) == (404, "Assignee agent not found")


def test_an_assignee_of_another_company_is_unprocessable(api: Api) -> None:
    company = make_company(api, "Mine")
    stranger = make_agent(api, make_company(api, "Theirs"))
    response = create(api, company, {"title": "R", "assigneeAgentId": stranger["id"]})
    assert (response.status, response.error) == (422, "Assignee must belong to same company")
    assert listed(api, company) == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("pending_approval", "Cannot assign routines to pending approval agents"),
        ("terminated", "Cannot assign routines to terminated agents"),
    ],
)
def test_an_assignee_that_cannot_work_is_a_conflict(api: Api, status: str, message: str) -> None:
    company = make_company(api)
    agent = make_agent(api, company, status=status)
    response = create(api, company, {"title": "R", "assigneeAgentId": agent["id"]})
    assert (response.status, response.error) == (409, message)
    routine = make_routine(api, company, None)
    patched = patch(api, routine, {"assigneeAgentId": agent["id"]})
    assert (patched.status, patched.error) == (409, message)
    assert stored(api, routine)["assigneeAgentId"] is None


@pytest.mark.parametrize(("field", "build", "label"), REFERENCES)
def test_a_patch_checks_references_like_a_create(
    api: Api, field: str, build: Callable[..., str], label: str
) -> None:
    world = make_world(api)
    other = make_company(api, "Theirs")
    missing = patch(api, world.routine, {field: str(uuid.uuid4())})
    foreign = patch(api, world.routine, {field: build(api, other)})
    assert (missing.status, missing.error) == (404, f"{label} not found")
    assert (foreign.status, foreign.error) == (422, f"{label} must belong to same company")
    assert stored(api, world.routine)[field] == world.routine[field]


def test_a_patch_to_another_companys_assignee_is_unprocessable(api: Api) -> None:
    world = make_world(api)
    stranger = make_agent(api, make_company(api, "Theirs"))
    response = patch(api, world.routine, {"assigneeAgentId": stranger["id"]})
    assert (response.status, response.error) == (422, "Assignee must belong to same company")
    assert stored(api, world.routine)["assigneeAgentId"] == world.agent["id"]
