"""Bad input is the caller's error, never a 500 (API.md section 0)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from devstack.api import Api, World, make_world
from shared.platform.runtime import Runtime


def count(runtime: Runtime, table: str) -> int:
    with runtime.engine.connect() as connection:
        return int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def targets(world: World) -> dict[str, tuple[str, str, str, str | None]]:
    """Name -> (method, path, table it writes, string field; None for inside the payload)."""
    company, routine = world.company["id"], world.routine["id"]
    return {
        "routine title": ("POST", f"/api/companies/{company}/routines", "routines", "title"),
        "issue title": ("POST", f"/api/companies/{company}/issues", "issues", "title"),
        "company name": ("POST", "/api/companies", "companies", "name"),
        "run idempotency key": (
            "POST",
            f"/api/routines/{routine}/run",
            "routine_runs",
            "idempotencyKey",
        ),
        "run payload": ("POST", f"/api/routines/{routine}/run", "routine_runs", None),
    }


def send(api: Api, world: World, target: str, raw_value: str) -> Any:
    """Send `raw_value` (JSON text) as the target's string field, or inside the run payload."""
    method, path, _table, field = targets(world)[target]
    raw = f'{{"{field}": {raw_value}}}' if field else f'{{"payload": {{"note": {raw_value}}}}}'
    return api.call(method, path, raw.encode())


TARGETS = ["routine title", "issue title", "company name", "run idempotency key", "run payload"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("value", [r'"a\u0000b"', r'"\ud800"'], ids=["nul", "lone-surrogate"])
def test_a_string_postgresql_cannot_store_is_a_bad_request(
    api: Api, runtime: Runtime, target: str, value: str
) -> None:
    world = make_world(api)
    table = targets(world)[target][2]
    before = count(runtime, table)
    response = send(api, world, target, value)
    assert response.status == 400
    assert count(runtime, table) == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_number_in_a_json_body_is_a_bad_request(
    api: Api, runtime: Runtime, number: str
) -> None:
    world = make_world(api)
    response = send(api, world, "run payload", number)
    assert response.status == 400
    assert count(runtime, "routine_runs") == 0


def test_a_nul_in_a_query_filter_is_not_a_server_error(api: Api) -> None:
    world = make_world(api)
    response = api.get(f"/api/companies/{world.company['id']}/issues?status=%00")
    assert response.status in (200, 400)


def test_a_deeply_nested_json_body_is_a_bad_request(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    raw = b'{"payload": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_000 + b"}"
    response = api.call("POST", f"/api/routines/{world.routine['id']}/run", raw)
    assert response.status in (400, 413)
    assert count(runtime, "routine_runs") == 0


def test_a_body_over_the_limit_is_too_large(api: Api, runtime: Runtime) -> None:
    world = make_world(api)
    raw = b'{"payload": {"blob": "' + b"x" * (1024 * 1024 + 1) + b'"}}'
    response = api.call("POST", f"/api/routines/{world.routine['id']}/run", raw)
    assert response.status == 413
    assert count(runtime, "routine_runs") == 0


def test_a_json_endpoint_called_with_another_content_type_is_unsupported(
    api: Api, runtime: Runtime
) -> None:
    world = make_world(api)
    response = api.call(
        "POST",
        f"/api/companies/{world.company['id']}/routines",
        b"title=Form",
        Content_Type="application/x-www-form-urlencoded",
    )
    assert response.status == 415
    assert count(runtime, "routines") == 1


@pytest.mark.parametrize(
    "query",
    ["?limit=1e400", "?limit=%00", "?limit=", "?limit=-0", "?limit=99999999999999999999999"],
)
def test_an_odd_run_list_limit_is_not_a_server_error(api: Api, query: str) -> None:
    world = make_world(api)
    response = api.get(f"/api/routines/{world.routine['id']}/runs{query}")
    assert response.status == 200


@pytest.mark.parametrize(
    "query", ["?originId=%00", "?assigneeAgentId=nope", "?originKind=%ff", "?status=nope"]
)
def test_an_odd_issue_filter_matches_nothing(api: Api, query: str) -> None:
    world = make_world(api)
    api.ok("POST", f"/api/companies/{world.company['id']}/issues", {"title": "One"})
    response = api.get(f"/api/companies/{world.company['id']}/issues{query}")
    assert (response.status, response.body) == (200, [])
