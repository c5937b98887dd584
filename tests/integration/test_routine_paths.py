"""The conventions of API.md section 0 on routine paths: unknown ids and routes are not
found, a body that is not a JSON object is a bad request."""

from __future__ import annotations

import uuid

import pytest

from devstack.api import Api, make_company, make_world
from tests.support.routines import listed


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/routines/not-a-uuid"),
        ("PATCH", "/api/routines/not-a-uuid"),
        ("GET", "/api/routines/12345/runs"),
        ("POST", "/api/routines/zzz/run"),
        ("POST", "/api/routines/zzz/triggers"),
        ("GET", f"/api/routines/{uuid.uuid4()}"),
    ],
)
def test_a_malformed_or_unknown_routine_id_is_not_found(api: Api, method: str, path: str) -> None:
    body = {"kind": "api"} if path.endswith("triggers") else {}
    response = api.call(method, path, body if method != "GET" else None)
    assert (response.status, response.body) == (404, {"error": "Routine not found"})


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/nothing-here"), ("POST", "/api/routines"), ("GET", "/api/routines/a/b/c")],
)
def test_an_unknown_api_route_is_not_found(api: Api, method: str, path: str) -> None:
    response = api.call(method, path, {} if method == "POST" else None)
    assert (response.status, response.body) == (404, {"error": "API route not found"})


@pytest.mark.parametrize("raw", [b"{not json", b'{"title": "x",}', b"\xff\xfe", b'{"title'])
def test_a_malformed_json_body_is_a_bad_request(api: Api, raw: bytes) -> None:
    company = make_company(api)
    response = api.post(f"/api/companies/{company['id']}/routines", raw)
    assert response.status == 400
    assert isinstance(response.error, str)
    assert response.error
    assert listed(api, company) == []


@pytest.mark.parametrize("raw", [b"[]", b'"title"', b"42", b"null"])
def test_a_json_body_that_is_not_an_object_is_a_bad_request(api: Api, raw: bytes) -> None:
    world = make_world(api)
    created = api.post(f"/api/companies/{world.company['id']}/routines", raw)
    patched = api.call("PATCH", f"/api/routines/{world.routine['id']}", raw)
    assert created.status == 400
    assert patched.status == 400
    assert len(listed(api, world.company)) == 1
