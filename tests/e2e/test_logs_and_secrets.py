"""Across a whole scenario on real processes, logs are JSON lines that carry request
and run ids, and no secret (admin token, agent key, webhook secret) ever appears."""

from __future__ import annotations

import json

from devstack.api import Api, HttpTransport, fire, make_agent_token, make_world
from devstack.processes import (
    free_port,
    running,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from tests.e2e.conftest import Stack


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


def test_logs_carry_ids_and_never_a_secret(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir)
    scheduler = start_scheduler(stack.env, stack.log_dir)
    with running(web, worker, scheduler):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"))
        world = make_world(api)
        agent_token = make_agent_token(api, world.agent)
        created = api.ok(
            "POST",
            f"/api/routines/{world.routine['id']}/triggers",
            {"kind": "webhook", "signingMode": "bearer"},
        )
        secret = created["secretMaterial"]["webhookSecret"]
        path = created["secretMaterial"]["webhookUrl"].split("3100", 1)[1]
        hook = api.as_(None).post(path, {"x": 1}, Authorization=f"Bearer {secret}")
        assert hook.status == 202
        bad = api.as_(None).post(path, {"x": 2}, Authorization=f"Bearer {secret}-nope")
        assert bad.status == 401
        run = fire(api.as_(agent_token), world.routine, source="manual")
        request_id = "req-e2e-logs-1"
        traced = api.call(
            "POST", f"/api/routines/{world.routine['id']}/run", {}, X_Request_Id=request_id
        )
        assert traced.status == 202
        for run_id in (run["id"], traced.body["id"], hook.body["id"]):
            wait_for(
                lambda run_id=run_id: (
                    api.ok("GET", f"/api/routine-runs/{run_id}")["status"] != "received"
                ),
                timeout=30,
                what="decision",
            )
    logs = {p.name: p.output() for p in (web, worker, scheduler)}
    everything = "\n".join(logs.values())
    for name, value in {
        "admin token": stack.env["ROUTINES_ADMIN_TOKEN"],
        "agent key": agent_token,
        "webhook secret": secret,
    }.items():
        assert value not in everything, f"{name} found in the logs"
    web_lines = json_lines(logs["web"])
    assert any(
        line.get("request_id") == request_id
        and line.get("route") == "/api/routines/<routine_id>/run"
        for line in web_lines
    )
    worker_lines = json_lines(logs["worker"])
    decided = [line for line in worker_lines if line.get("msg") == "run decided"]
    assert {line["run_id"] for line in decided} >= {run["id"], traced.body["id"]}
    assert any(line.get("request_id") == request_id for line in decided), (
        "request id reached the worker"
    )


def test_every_line_of_every_process_is_json_including_gunicorn_and_dramatiq(
    stack: Stack,
) -> None:
    """Containers and log shippers read stderr line by line: the servers' own start-up
    lines are JSON too, and no line carries a terminal colour escape."""
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir)
    scheduler = start_scheduler(stack.env, stack.log_dir)
    with running(web, worker, scheduler):
        wait_for(lambda: "is ready for action" in worker.output(), timeout=30, what="worker boot")
        Api(HttpTransport(f"http://127.0.0.1:{port}")).ok("GET", "/api/health")
    for process in (web, worker, scheduler):
        text = process.output()
        assert "\x1b[" not in text, process.name
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines, process.name
        parsed = [json.loads(line) for line in lines]  # raises on a line that is not JSON
        assert all({"ts", "level", "process", "logger", "msg"} <= set(p) for p in parsed)
    web_loggers = {line["logger"] for line in json_lines(web.output())}
    worker_loggers = {line["logger"] for line in json_lines(worker.output())}
    assert "gunicorn.error" in web_loggers
    assert "dramatiq.MainProcess" in worker_loggers
