"""What a benchmark fires at, made through the API: routines of one company, agent and
project, with a signed webhook trigger each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from devstack.api import Api, make_agent, make_company, make_project


@dataclass(frozen=True)
class Target:
    routine_id: str
    public_id: str
    path: str
    secret: str


_WORLD: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def bench_world(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The company, agent and project that a benchmark's routines share; one per client."""
    key = id(api.transport)
    if key not in _WORLD:
        company = make_company(api, "Bench")
        _WORLD[key] = (company, make_agent(api, company), make_project(api, company))
    return _WORLD[key]


def make_routine_with_policy(
    api: Api,
    company: dict[str, Any],
    agent: dict[str, Any],
    project: dict[str, Any],
    policy: str,
    title: str,
) -> dict[str, Any]:
    body = {
        "title": title,
        "assigneeAgentId": agent["id"],
        "projectId": project["id"],
        "concurrencyPolicy": policy,
    }
    return api.ok("POST", f"/api/companies/{company['id']}/routines", body)


def make_webhook_targets(api: Api, count: int, policy: str, label: str) -> list[Target]:
    """`count` routines with one hmac_sha256 webhook trigger each (replay window one day,
    so that requests signed before the run stay valid through it)."""
    company, agent, project = bench_world(api)
    targets = []
    for n in range(count):
        routine = make_routine_with_policy(api, company, agent, project, policy, f"{label} {n}")
        created = api.ok(
            "POST",
            f"/api/routines/{routine['id']}/triggers",
            {"kind": "webhook", "signingMode": "hmac_sha256", "replayWindowSec": 86400},
            status=201,
        )
        material = created["secretMaterial"]
        path = urlsplit(material["webhookUrl"]).path
        targets.append(
            Target(routine["id"], created["trigger"]["publicId"], path, material["webhookSecret"])
        )
    return targets


def make_manual_routines(api: Api, count: int, policy: str, label: str) -> list[str]:
    company, agent, project = bench_world(api)
    return [
        make_routine_with_policy(api, company, agent, project, policy, f"{label} {n}")["id"]
        for n in range(count)
    ]
