"""The world the fuzz starts from: seeded once for the whole package on a runtime of its
own, so no example pays for truncating the database; examples may change that world
(pause, archive, revoke), which only widens what later examples exercise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from devstack.api import (
    Api,
    FlaskTransport,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_project,
    make_routine,
)
from devstack.services import truncate_all
from shared.platform.broker import build_broker
from shared.platform.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from tests.support.fuzz_world import FuzzWorld, add_trigger
from web.app import create_app


@pytest.fixture(scope="package")
def fuzz_runtime(pg_url: str) -> Iterator[Runtime]:
    """Like the `runtime` fixture, but once for the package: hypothesis runs many examples per
    test, and a function-scoped fixture would be shared by all of them anyway."""
    # Rate limits off (0): thousands of fires a minute from one address are the point here.
    settings = settings_for(pg_url, rate_limit_per_trigger=0, rate_limit_per_client=0)
    built = build_runtime(settings, broker=build_broker(settings))
    truncate_all(built.engine)
    yield built
    built.close()


@pytest.fixture(scope="package")
def fuzz_app(fuzz_runtime: Runtime) -> Flask:
    return create_app(runtime=fuzz_runtime)


@pytest.fixture(scope="package")
def world(fuzz_app: Flask) -> FuzzWorld:
    client = fuzz_app.test_client()
    api = Api(FlaskTransport(client))
    company = make_company(api, "Fuzz")
    agent = make_agent(api, company)
    project = make_project(api, company)
    variables = [
        {"name": "who", "defaultValue": "ops"},
        {"name": "n", "type": "number", "defaultValue": 1},
        {"name": "size", "type": "select", "options": ["s", "m"], "defaultValue": "s"},
        {"name": "dueDate", "type": "date", "required": False},
    ]
    routine = make_routine(
        api, company, agent, projectId=project["id"], title="{{who}} {{n}}", variables=variables
    )
    plain = make_routine(api, company, agent, title="Plain", concurrencyPolicy="always_enqueue")
    goal = api.ok("POST", f"/api/companies/{company['id']}/goals", {"title": "Grow"})
    issue = api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "Fix"})
    key = api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "fuzz"})
    triggers = [
        add_trigger(api, routine, kind="api"),
        add_trigger(api, routine, kind="schedule", cronExpression="*/5 * * * *"),
        *(
            add_trigger(api, plain, kind="webhook", signingMode=mode)
            for mode in ("bearer", "hmac_sha256", "github_hmac", "none")
        ),
    ]
    other = make_company(api, "Elsewhere")
    other_agent = make_agent(api, other)
    tokens = [
        key["token"],
        make_member(api, company, ["tasks:assign"]),
        make_member(api, company),
        make_agent_token(api, other_agent),
        make_member(api, other, ["tasks:assign"]),
    ]
    runs = [fire(api, routine)["id"], fire(api, plain)["id"]]
    return FuzzWorld(
        client=client,
        doc=api.ok("GET", "/api/openapi.json"),
        ids={
            "companyId": [company["id"], other["id"]],
            "agentId": [agent["id"], other_agent["id"]],
            "keyId": [key["id"]],
            "projectId": [project["id"]],
            "goalId": [goal["id"]],
            "issueId": [issue["id"]],
            "routineId": [routine["id"], plain["id"]],
            "runId": runs,
            "triggerId": [t["trigger"]["id"] for t in triggers],
            "publicId": [t["trigger"]["publicId"] for t in triggers if t["trigger"]["publicId"]],
        },
        tokens=tokens,
    )
