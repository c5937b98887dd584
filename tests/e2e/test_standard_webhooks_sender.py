"""A Standard Webhooks delivery end to end: the official `standardwebhooks` package signs,
HTTP carries it to a real web process, a real worker decides the run into an issue."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from devstack.api import Api, HttpTransport, Response, make_world
from devstack.processes import free_port, running, start_web, start_worker, wait_for
from tests.e2e.conftest import Stack


def deliver(api: Api, path: str, secret: str, message_id: str, body: str) -> Response:
    """What a Standard Webhooks sender sends: the three headers and the raw body."""
    at = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
    return api.as_(None).transport("POST", path, body.encode(), headers)


def test_a_delivery_signed_by_the_official_library_ends_as_an_issue(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir)
    with running(web, worker):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"))
        world = make_world(api)
        created = api.ok(
            "POST",
            f"/api/routines/{world.routine['id']}/triggers",
            {"kind": "webhook", "signingMode": "standard_webhooks"},
        )
        secret = created["secretMaterial"]["webhookSecret"]
        assert secret.startswith("whsec_")
        path = urlsplit(created["secretMaterial"]["webhookUrl"]).path
        message_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"type": "invoice.paid", "amount": 3})

        first = deliver(api, path, secret, message_id, body)
        assert first.status == 202, first.body
        run_id = first.body["id"]

        def decided() -> bool:
            return api.ok("GET", f"/api/routine-runs/{run_id}")["status"] != "received"

        wait_for(decided, timeout=30, what="decision")
        run = api.ok("GET", f"/api/routine-runs/{run_id}")
        assert run["status"] == "issue_created"
        assert run["triggerPayload"] == {"type": "invoice.paid", "amount": 3}
        issue = api.ok("GET", f"/api/issues/{run['linkedIssueId']}")
        assert issue["originRunId"] == run_id

        again = deliver(api, path, secret, message_id, body)
        assert (again.status, again.body["id"]) == (202, run_id)
        wrong = deliver(api, path, "whsec_" + "A" * 43 + "=", f"msg_{uuid.uuid4().hex}", body)
        assert (wrong.status, wrong.body) == (401, {"error": "Unauthorized"})
