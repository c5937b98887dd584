"""The access table of API.md section 8 as data: every routine, trigger and run route
against every kind of caller, each cell on a fresh world.

This is the single table; other files test the messages and the finer rules. A cell
reads: 2xx allowed; 401 no credentials; 403 authenticated but not allowed (and another
company's id in a company path); 404 another company's resource by id (existence is
never revealed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from devstack.api import (
    ADMIN_TOKEN,
    Api,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_routine,
)

PRINCIPALS = (
    "admin",
    "member with tasks:assign",
    "member without tasks:assign",
    "owning agent",
    "other agent of the company",
    "agent of another company",
    "member of another company",
    "no credentials",
)

#: Operation -> (method, path, body); {names} are filled from the world.
OPERATIONS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "list routines": ("GET", "/api/companies/{company}/routines", None),
    "routine detail": ("GET", "/api/routines/{routine}", None),
    "list runs": ("GET", "/api/routines/{routine}/runs", None),
    "get run": ("GET", "/api/routine-runs/{run}", None),
    "list triggers": ("GET", "/api/routines/{routine}/triggers", None),
    "create routine": (
        "POST",
        "/api/companies/{company}/routines",
        {"title": "Planned", "assigneeAgentId": "{owner}"},
    ),
    "update routine": ("PATCH", "/api/routines/{routine}", {"description": "Edited"}),
    "reassign routine": ("PATCH", "/api/routines/{routine}", {"assigneeAgentId": "{other}"}),
    "activate routine": ("PATCH", "/api/routines/{paused}", {"status": "active"}),
    "add trigger": ("POST", "/api/routines/{routine}/triggers", {"kind": "api"}),
    "update trigger": ("PATCH", "/api/routine-triggers/{api_trigger}", {"label": "Edited"}),
    "delete trigger": ("DELETE", "/api/routine-triggers/{api_trigger}", None),
    "rotate secret": ("POST", "/api/routine-triggers/{webhook_trigger}/rotate-secret", None),
    "manual run": ("POST", "/api/routines/{routine}/run", {}),
    "next runs": ("GET", "/api/routine-triggers/{schedule_trigger}/next-runs", None),
    "backfill": (
        "POST",
        "/api/routine-triggers/{schedule_trigger}/backfill",
        {"from": "2020-01-01T00:00:00Z", "to": "2020-01-01T03:00:00Z"},
    ),
    "replay run": ("POST", "/api/routine-runs/{run}/replay", None),
    "list activity": ("GET", "/api/companies/{company}/activity", None),
}

OK = "2xx"
# fmt: off
TABLE: dict[str, tuple[str, ...]] = {
    #                    admin member+  member owner  other  f.agent f.member anon
    "list routines":    (OK,   OK,      OK,    OK,    OK,    "403",  "403",   "401"),
    "routine detail":   (OK,   OK,      OK,    OK,    OK,    "404",  "404",   "401"),
    "list runs":        (OK,   OK,      OK,    OK,    OK,    "404",  "404",   "401"),
    "get run":          (OK,   OK,      OK,    OK,    OK,    "404",  "404",   "401"),
    "list triggers":    (OK,   OK,      OK,    OK,    OK,    "404",  "404",   "401"),
    "create routine":   (OK,   OK,      "403", OK,    "403", "403",  "403",   "401"),
    "update routine":   (OK,   OK,      OK,    OK,    "403", "404",  "404",   "401"),
    "reassign routine": (OK,   OK,      "403", "403", "403", "404",  "404",   "401"),
    "activate routine": (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "add trigger":      (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "update trigger":   (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "delete trigger":   (OK,   OK,      OK,    OK,    "403", "404",  "404",   "401"),
    "rotate secret":    (OK,   OK,      OK,    OK,    "403", "404",  "404",   "401"),
    "manual run":       (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "next runs":        (OK,   OK,      OK,    OK,    OK,    "404",  "404",   "401"),
    "backfill":         (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "replay run":       (OK,   OK,      "403", OK,    "403", "404",  "404",   "401"),
    "list activity":    (OK,   OK,      OK,    OK,    OK,    "403",  "403",   "401"),
}
# fmt: on

CELLS = [
    pytest.param(operation, principal, expected, id=f"{operation} | {principal}")
    for operation, row in TABLE.items()
    for principal, expected in zip(PRINCIPALS, row, strict=True)
]


@dataclass
class World:
    """Company A: a routine owned by one agent (with a run, an api, a webhook and an
    hourly schedule trigger), a paused routine of the same agent, a second agent and two
    members; company B: an agent and a member who may assign work there."""

    ids: dict[str, str]
    tokens: dict[str, str | None]


def make_matrix_world(api: Api) -> World:
    company = make_company(api, "Acme")
    owner = make_agent(api, company, name="Owner")
    other = make_agent(api, company, name="Other")
    routine = make_routine(api, company, owner, title="Owned")
    paused = make_routine(api, company, owner, title="Resting", status="paused")
    triggers = f"/api/routines/{routine['id']}/triggers"
    api_trigger = api.ok("POST", triggers, {"kind": "api"})["trigger"]
    webhook_trigger = api.ok("POST", triggers, {"kind": "webhook"})["trigger"]
    hourly = {"kind": "schedule", "cronExpression": "0 * * * *"}
    schedule_trigger = api.ok("POST", triggers, hourly)["trigger"]
    beta = make_company(api, "Beta")
    return World(
        ids={
            "company": company["id"],
            "owner": owner["id"],
            "other": other["id"],
            "routine": routine["id"],
            "paused": paused["id"],
            "run": fire(api, routine)["id"],
            "api_trigger": api_trigger["id"],
            "webhook_trigger": webhook_trigger["id"],
            "schedule_trigger": schedule_trigger["id"],
        },
        tokens={
            "admin": ADMIN_TOKEN,
            "member with tasks:assign": make_member(api, company, ["tasks:assign"]),
            "member without tasks:assign": make_member(api, company),
            "owning agent": make_agent_token(api, owner),
            "other agent of the company": make_agent_token(api, other),
            "agent of another company": make_agent_token(api, make_agent(api, beta)),
            "member of another company": make_member(api, beta, ["tasks:assign"]),
            "no credentials": None,
        },
    )


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


def snapshot(api: Api, world: World) -> list[Any]:
    """What a refused call must leave as it was."""
    return [
        api.ok("GET", f"/api/routines/{world.ids['routine']}"),
        api.ok("GET", f"/api/routines/{world.ids['paused']}"),
        api.ok("GET", f"/api/companies/{world.ids['company']}/routines"),
        api.ok("GET", f"/api/companies/{world.ids['company']}/activity"),
    ]


def status_class(status: int) -> str:
    return OK if 200 <= status < 300 else str(status)


def test_the_table_covers_every_operation_and_principal() -> None:
    assert set(TABLE) == set(OPERATIONS)
    assert all(len(row) == len(PRINCIPALS) for row in TABLE.values())
    assert {cell for row in TABLE.values() for cell in row} == {OK, "401", "403", "404"}


def test_the_table_matches_the_contracts_broad_rules() -> None:
    """Readers of the company read; nobody without credentials does anything; outsiders
    learn nothing beyond a 403 on a company path."""
    anonymous = PRINCIPALS.index("no credentials")
    outsiders = [PRINCIPALS.index(p) for p in PRINCIPALS if "another company" in p]
    for operation, row in TABLE.items():
        _method, path, _body = OPERATIONS[operation]
        assert row[anonymous] == "401"
        expected = "403" if path.startswith("/api/companies/{company}") else "404"
        assert [row[i] for i in outsiders] == [expected, expected], operation
        assert row[PRINCIPALS.index("admin")] == OK


@pytest.mark.parametrize(("operation", "principal", "expected"), CELLS)
def test_access_matrix(api: Api, operation: str, principal: str, expected: str) -> None:
    world = make_matrix_world(api)
    method, template, body = OPERATIONS[operation]
    before = snapshot(api, world)

    caller = api.as_(world.tokens[principal])
    response = caller.call(method, fill(template, world.ids), fill(body, world.ids))

    assert status_class(response.status) == expected, (response.status, response.body)
    if expected != OK:
        assert isinstance(response.error, str)
        assert response.error
        assert snapshot(api, world) == before, "a refused call changed nothing"
    if expected == "401":
        assert response.body == {"error": "Unauthorized"}
