"""HTTP semantics as RFC 9110 states them, over every route of the app: a 405 names the
allowed methods in `Allow`, HEAD is GET without a body, OPTIONS answers 204 with `Allow`
and needs no credentials, every 429 and 503 carries `Retry-After`, and a JSON endpoint
called with another content type answers 415 naming the type it accepts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.engine import make_url
from werkzeug.routing import Rule

from devstack.api import ADMIN_TOKEN
from shared.platform.broker import build_broker
from shared.platform.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from web.app import create_app
from web.openapi import BODIES

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: The methods a route may lack; the first one it does not declare is tried on it.
METHODS = ("PUT", "DELETE", "PATCH", "POST", "GET")


@pytest.fixture(scope="module")
def module_runtime(pg_url: str) -> Iterator[Runtime]:
    settings = settings_for(pg_url, rate_limit_per_client=1)
    built = build_runtime(settings, broker=build_broker(settings))
    yield built
    built.close()


@pytest.fixture(scope="module")
def app(module_runtime: Runtime) -> Flask:
    return create_app(runtime=module_runtime)


def url_of(rule: Rule) -> str:
    """A concrete URL the rule matches: each placeholder a fresh uuid."""
    return re.sub(r"<[^>]+>", lambda _m: str(uuid.uuid4()), rule.rule)


def allowed(app: Flask, url: str) -> set[str]:
    """Every method some rule serves at `url` (several rules may share a path)."""
    return set(app.url_map.bind("localhost").allowed_methods(url))


def header_methods(value: str | None) -> set[str]:
    assert value, "no Allow header"
    return {method.strip() for method in value.split(",")}


def rules(app: Flask) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def get_rules(app: Flask) -> list[Rule]:
    return [rule for rule in rules(app) if "GET" in (rule.methods or set())]


# 405 and Allow


def test_every_route_answers_an_undeclared_method_with_405_and_allow(app: Flask) -> None:
    client = app.test_client()
    checked = []
    for rule in rules(app):
        url = url_of(rule)
        methods = allowed(app, url)
        undeclared = next(m for m in METHODS if m not in methods)
        response = client.open(url, method=undeclared)
        assert response.status_code == 405, (undeclared, rule.rule)
        assert response.get_json() == {"error": "Method not allowed"}, rule.rule
        assert header_methods(response.headers.get("Allow")) == methods, rule.rule
        assert undeclared not in methods
        checked.append(rule.rule)
    assert len(checked) >= 40


def test_allow_lists_head_and_options_beside_the_declared_methods(app: Flask) -> None:
    response = app.test_client().delete("/api/routines/" + str(uuid.uuid4()) + "/triggers")
    assert response.status_code == 405
    assert header_methods(response.headers["Allow"]) == {"GET", "HEAD", "OPTIONS", "POST"}


# OPTIONS


def test_options_answers_204_with_allow_and_no_body_on_every_route(app: Flask) -> None:
    client = app.test_client()
    for rule in rules(app):
        url = url_of(rule)
        response = client.options(url)
        assert response.status_code == 204, rule.rule
        assert response.data == b"", rule.rule
        assert header_methods(response.headers.get("Allow")) == allowed(app, url), rule.rule


def test_options_needs_no_credentials_even_where_the_methods_do(app: Flask) -> None:
    url = f"/api/routines/{uuid.uuid4()}"
    assert app.test_client().get(url).status_code == 401
    response = app.test_client().options(url)
    assert response.status_code == 204
    assert header_methods(response.headers["Allow"]) == {"GET", "HEAD", "OPTIONS", "PATCH"}


def test_options_on_an_unknown_route_is_the_json_404(app: Flask) -> None:
    response = app.test_client().options("/api/gadgets")
    assert response.status_code == 404
    assert response.get_json() == {"error": "API route not found"}


# HEAD


def test_head_is_get_without_a_body_on_every_get_route(app: Flask) -> None:
    client = app.test_client()
    for rule in get_rules(app):
        url = url_of(rule)
        for headers in ({}, ADMIN):
            got = client.get(url, headers=headers)
            head = client.head(url, headers=headers)
            assert head.status_code == got.status_code, (rule.rule, headers)
            assert head.mimetype == got.mimetype, rule.rule
            assert head.data == b"", rule.rule


@pytest.mark.parametrize("url", ["/api/companies", "/api/health/live", "/api/openapi.json", "/ops"])
def test_head_announces_the_length_get_sends(app: Flask, url: str) -> None:
    client = app.test_client()
    got = client.get(url, headers=ADMIN)
    head = client.head(url, headers=ADMIN)
    assert got.status_code == head.status_code == 200
    assert head.headers["Content-Length"] == str(len(got.data))
    assert head.data == b""


# Retry-After


def test_a_rate_limited_fire_says_when_to_retry(app: Flask) -> None:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    url = "/api/routine-triggers/public/nothing-here/fire"
    assert client.post(url, json={}).status_code == 404
    refused = client.post(url, json={})
    assert refused.status_code == 429
    assert refused.get_json() == {"error": "Rate limit exceeded"}
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.fixture(scope="module")
def dead_app(pg_url: str) -> Iterator[Flask]:
    """The app over a database port where nothing listens: every connection is refused."""
    dead = make_url(pg_url).set(host="127.0.0.1", port=1)
    settings = settings_for(dead.render_as_string(hide_password=False))
    built = build_runtime(settings, broker=build_broker(settings))
    yield create_app(runtime=built)
    built.close()


def test_a_database_outage_is_503_with_retry_after(dead_app: Flask) -> None:
    response = dead_app.test_client().get("/api/companies", headers=ADMIN)
    assert response.status_code == 503
    assert response.get_json() == {"error": "Database unavailable"}
    assert int(response.headers["Retry-After"]) >= 1


def test_an_unready_health_probe_is_503_with_retry_after(dead_app: Flask) -> None:
    response = dead_app.test_client().get("/api/health")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_a_success_carries_no_retry_after(app: Flask) -> None:
    assert "Retry-After" not in app.test_client().get("/api/health/live").headers


# 415


def body_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, url, endpoint) of every route whose body is a JSON model."""
    return [
        (method, url_of(rule), rule.endpoint)
        for rule in rules(app)
        if rule.endpoint in BODIES
        for method in sorted((rule.methods or set()) & {"POST", "PATCH", "PUT"})
    ]


def test_every_json_body_route_answers_another_content_type_with_415(app: Flask) -> None:
    client = app.test_client()
    routes = body_routes(app)
    assert {endpoint for _, _, endpoint in routes} == set(BODIES)
    for method, url, endpoint in routes:
        response = client.open(
            url, method=method, data="{}", headers={**ADMIN, "Content-Type": "text/plain"}
        )
        assert response.status_code == 415, endpoint
        assert response.get_json() == {"error": "Content-Type must be application/json"}
        accept = "Accept-Patch" if method == "PATCH" else "Accept-Post"
        assert response.headers[accept] == "application/json", endpoint


def test_a_json_suffix_type_is_accepted_as_json(app: Flask) -> None:
    response = app.test_client().post(
        "/api/cron/preview",
        data='{"cronExpression": "0 9 * * *"}',
        headers={**ADMIN, "Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
