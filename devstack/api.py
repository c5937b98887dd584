"""One small client over either Flask's test client or real HTTP, and builders
that create what a test or a benchmark needs through the API itself."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

ADMIN_TOKEN = "admin-test-token"


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None


class Transport(Protocol):
    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response: ...


class FlaskTransport:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        data = body if isinstance(body, bytes) else None if body is None else json.dumps(body)
        if data is not None and "Content-Type" not in headers:
            headers = {**headers, "Content-Type": "application/json"}
        response = self.client.open(path, method=method, data=data, headers=headers)
        return Response(
            response.status_code, response.get_json(silent=True), dict(response.headers)
        )


class HttpTransport:
    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def __call__(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Response:
        data = (
            body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
        )
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw, status, got = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            raw, status, got = error.read(), error.code, dict(error.headers)
        parsed = json.loads(raw) if raw.strip() else None
        return Response(status, parsed, got)


class Api:
    """Calls as one principal; `as_(token)` gives the same API as someone else."""

    def __init__(self, transport: Transport, token: str | None = ADMIN_TOKEN) -> None:
        self.transport = transport
        self.token = token

    def as_(self, token: str | None) -> Api:
        return Api(self.transport, token)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Response:
        sent = {k.replace("_", "-"): v for k, v in headers.items()}
        if self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return self.transport(method, path, body, sent)

    def get(self, path: str, **headers: str) -> Response:
        return self.call("GET", path, **headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Response:
        return self.call("POST", path, {} if body is None else body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> Response:
        return self.call("PATCH", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Response:
        return self.call("DELETE", path, **headers)

    def ok(self, method: str, path: str, body: Any = None, status: int | None = None) -> Any:
        """Call and insist on success; the parsed body."""
        response = self.call(method, path, body)
        expected = status or {"POST": (200, 201, 202), "DELETE": (204,)}.get(method, (200,))
        expected = (expected,) if isinstance(expected, int) else expected
        assert response.status in expected, (method, path, response.status, response.body)
        return response.body


def _post(api: Api, path: str, body: Any, status: int | None = None) -> dict[str, Any]:
    """POST and insist on success; the resource the API answered with."""
    return cast(dict[str, Any], api.ok("POST", path, body, status))


def make_company(api: Api, name: str = "Acme", **fields: Any) -> dict[str, Any]:
    return _post(api, "/api/companies", {"name": name, **fields})


def make_agent(api: Api, company: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return _post(api, f"/api/companies/{company['id']}/agents", {"name": "Bot", **fields})


def make_agent_token(api: Api, agent: dict[str, Any]) -> str:
    return str(api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "key"})["token"])


def make_member(api: Api, company: dict[str, Any], permissions: list[str] | None = None) -> str:
    created = api.ok("POST", "/api/board-users", {"name": "Member"})
    api.ok(
        "POST",
        f"/api/companies/{company['id']}/members",
        {"userId": created["user"]["id"], "permissions": permissions or []},
    )
    return str(created["token"])


def make_project(api: Api, company: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return _post(api, f"/api/companies/{company['id']}/projects", {"name": "Ops", **fields})


def make_routine(
    api: Api, company: dict[str, Any], agent: dict[str, Any] | None, **fields: Any
) -> dict[str, Any]:
    body = {"title": "Daily check", "assigneeAgentId": agent["id"] if agent else None, **fields}
    return _post(api, f"/api/companies/{company['id']}/routines", body)


def fire(api: Api, routine: dict[str, Any], **body: Any) -> dict[str, Any]:
    return _post(api, f"/api/routines/{routine['id']}/run", body, status=202)


def make_unsigned_hook(api: Api, routine: dict[str, Any]) -> str:
    """A webhook trigger without signing on `routine`; the path its deliveries go to."""
    created = _post(
        api,
        f"/api/routines/{routine['id']}/triggers",
        {"kind": "webhook", "signingMode": "none"},
        status=201,
    )
    return f"/api/routine-triggers/public/{created['trigger']['publicId']}/fire"


@dataclass
class World:
    """A company with an agent, a project and a routine: the usual starting point."""

    company: dict[str, Any]
    agent: dict[str, Any]
    project: dict[str, Any]
    routine: dict[str, Any]


def make_world(api: Api, **routine_fields: Any) -> World:
    company = make_company(api)
    agent = make_agent(api, company)
    project = make_project(api, company)
    routine = make_routine(api, company, agent, projectId=project["id"], **routine_fields)
    return World(company, agent, project, routine)
