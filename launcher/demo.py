"""`routines demo`: a company, an agent, a project and a routine with one trigger of
each kind, created through the HTTP API of a running service; prints how to fire them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class DemoError(RuntimeError):
    pass


def call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    if not base.startswith(("http://", "https://")):
        raise DemoError(f"not an http(s) URL: {base}")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (operator-given URL)
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raise DemoError(f"{method} {path} -> {error.code} {error.read().decode()}") from None
    except urllib.error.URLError as error:
        raise DemoError(f"cannot reach {base}: {error.reason}") from None


def run_demo(base: str, token: str) -> str:
    """Create the demo objects; the text to print."""
    company = call(
        base, token, "POST", "/api/companies", {"name": "Demo Co", "issuePrefix": "DEMO"}
    )
    cid = company["id"]
    agent = call(base, token, "POST", f"/api/companies/{cid}/agents", {"name": "Demo agent"})
    project = call(base, token, "POST", f"/api/companies/{cid}/projects", {"name": "Demo"})
    routine = call(
        base,
        token,
        "POST",
        f"/api/companies/{cid}/routines",
        {
            "title": "Daily briefing for {{date}}",
            "description": "Summarise what happened.",
            "assigneeAgentId": agent["id"],
            "projectId": project["id"],
        },
    )
    rid = routine["id"]
    triggers = f"/api/routines/{rid}/triggers"
    schedule = call(
        base,
        token,
        "POST",
        triggers,
        {"kind": "schedule", "label": "Every morning", "cronExpression": "0 9 * * *"},
    )
    webhook = call(
        base,
        token,
        "POST",
        triggers,
        {"kind": "webhook", "label": "Webhook", "signingMode": "bearer"},
    )
    api = call(base, token, "POST", triggers, {"kind": "api", "label": "API"})
    secret = webhook["secretMaterial"]
    return "\n".join(
        [
            f"Company {cid}, agent {agent['id']}, project {project['id']}",
            f"Routine {rid} with triggers:",
            f"  schedule {schedule['trigger']['id']} next run {schedule['trigger']['nextRunAt']}",
            f"  webhook  {webhook['trigger']['id']} (secret shown once: {secret['webhookSecret']})",
            f"  api      {api['trigger']['id']}",
            "",
            "Fire it by hand:",
            f"  curl -s -X POST {base}/api/routines/{rid}/run -H 'Authorization: Bearer {token}'"
            " -H 'Content-Type: application/json' -d '{}'",
            "Fire it through the API trigger:",
            f"  curl -s -X POST {base}/api/routines/{rid}/run -H 'Authorization: Bearer {token}'"
            " -H 'Content-Type: application/json'"
            f' -d \'{{"source": "api", "triggerId": "{api["trigger"]["id"]}"}}\'',
            "Fire the webhook:",
            f"  curl -s -X POST {secret['webhookUrl']}"
            f" -H 'Authorization: Bearer {secret['webhookSecret']}'"
            " -H 'Content-Type: application/json' -d '{\"event\": \"demo\"}'",
            "See the runs:",
            f"  curl -s {base}/api/routines/{rid}/runs -H 'Authorization: Bearer {token}'",
            "",
        ]
    )
