"""Hypothesis fuzz over every operation of the OpenAPI document (API.md 0: never a 500
for bad input; every error is JSON with an "error" key).

Each operation gets a fixed budget of examples so the package stays fast in CI; set
ROUTINES_FUZZ_EXAMPLES to raise it (examples per operation), e.g. for a `make fuzz`.
"""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from devstack.api import ADMIN_TOKEN
from tests.support.fuzz_requests import assert_clean_answer, calls, send
from tests.support.fuzz_world import FUZZ, FuzzWorld
from web.app import BLUEPRINTS
from web.openapi import document


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read at collection time from the
    generator over the app's own blueprints; test_the_fuzzed_operations_are_the_served_ones
    checks that the served document says the same."""
    app = Flask(__name__)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    paths = document(app)["paths"]
    return sorted((method, path) for path, item in paths.items() for method in item)


OPERATIONS = _operations()


def test_the_fuzzed_operations_are_the_served_ones(world: FuzzWorld) -> None:
    served = sorted((m, p) for p, item in world.doc["paths"].items() for m in item)
    assert served == OPERATIONS
    assert len(OPERATIONS) >= 40
    assert {p for _, p in OPERATIONS} >= {
        "/api/routines/{routineId}/run",
        "/api/routine-triggers/public/{publicId}/fire",
        "/api/companies/{companyId}/routines",
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@FUZZ
@given(data=st.data())
def test_no_input_to_any_operation_is_a_server_error(
    world: FuzzWorld, method: str, path: str, data: st.DataObject
) -> None:
    call = data.draw(calls(method, path, world))
    assert_clean_answer(call, send(world, call))


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"])
def test_a_method_a_route_does_not_have_is_a_json_error(world: FuzzWorld, method: str) -> None:
    served = {(m.upper(), p) for m, p in OPERATIONS}
    for _, path in OPERATIONS:
        if (method, path) in served:
            continue
        url = path.replace("{", "").replace("}", "")
        response = world.client.open(url, method=method, headers={"Authorization": "Bearer x"})
        assert (response.status_code, response.get_json()) == (
            405,
            {"error": "Method not allowed"},
        ), (method, url)


@pytest.mark.parametrize(
    "path", ["/api", "/api/", "/api/nothing", "/api/routines", "/api/routines/x/y/z", "/api/%ff"]
)
def test_an_unknown_api_route_is_a_json_404(world: FuzzWorld, path: str) -> None:
    response = world.client.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert (response.status_code, response.get_json()) == (404, {"error": "API route not found"})


@pytest.mark.parametrize("value", ["%00", "routine_execution%00", "a%00b"])
def test_a_nul_in_a_query_filter_is_not_a_server_error(world: FuzzWorld, value: str) -> None:
    """PostgreSQL refuses NUL in text; found by this fuzz on `originKind`."""
    company = world.ids["companyId"][0]
    for key in ("originKind", "status", "originId", "assigneeAgentId"):
        response = world.client.get(
            f"/api/companies/{company}/issues?{key}={value}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert response.status_code in (200, 400), key
        assert response.status_code == 200 or isinstance(response.get_json()["error"], str)


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/api/routines//{routine}"),
        ("GET", "/api/routines/{routine}//runs"),
        ("POST", "/api/routines/{routine}//run"),
        ("POST", "/api/routine-triggers/public/abc%2F/fire"),
    ],
)
def test_an_empty_path_segment_is_a_json_404_not_a_redirect(
    world: FuzzWorld, method: str, template: str
) -> None:
    url = template.format(routine=world.ids["routineId"][0])
    response = world.client.open(
        url, method=method, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json={}
    )
    assert (response.status_code, response.get_json(silent=True)) == (
        404,
        {"error": "API route not found"},
    )
