"""Firing a routine by hand or by API, and reading its runs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import RunCreate
from shared.contract.parsing import parse_body
from shared.platform.metrics import FIRES_ACCEPTED
from shared.runs.reading import clamp_limit, get_run, list_runs, run_status, summarize_runs
from shared.runs.recording import RunRequest, request_manual_run
from shared.runs.replay import replay_run
from shared.tenancy.auth import Principal
from web import presenters as p
from web.body import json_object
from web.context import now, runtime, transaction, work
from web.telemetry import request_id

bp = Blueprint("runs", __name__, url_prefix="/api")

#: Longest `Prefer: wait=N` honoured, in seconds.
MAX_WAIT_SECONDS = 30
_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+)")


@bp.post("/routines/<routine_id>/run")
def fire(routine_id: str) -> Any:
    with work() as w:
        command = _run_request(parse_body(RunCreate, json_object()))
        recorded = request_manual_run(
            w.session, w.principal, routine_id=routine_id, request=command, now=now()
        )
        run_id, principal = recorded.run.id, w.principal
        body = p.run_summary(summarize_runs(w.session, [recorded.run])[0])
    if recorded.created:
        FIRES_ACCEPTED.labels(recorded.run.source).inc()
        runtime().enqueuer.dispatch_run(run_id, request_id=request_id())
    return _accepted(run_id, principal, body)


@bp.post("/routine-runs/<run_id>/replay")
def replay(run_id: str) -> Any:
    """The same event again as a new run; the body, if any, is ignored."""
    with work() as w:
        run = replay_run(w.session, w.principal, run_id=run_id, now=now())
        new_id, principal = run.id, w.principal
        body = p.run_summary(summarize_runs(w.session, [run])[0])
    runtime().enqueuer.dispatch_run(new_id, request_id=request_id())
    return _accepted(new_id, principal, body)


def _accepted(run_id: uuid.UUID, principal: Principal, body: Any) -> Any:
    """202 with the run, after waiting for its decision when `Prefer: wait=N` asks to."""
    wait = _prefer_wait()
    if wait is None or runtime().decisions.wait(run_id, wait, _undecided(run_id)) is None:
        return body, 202
    with transaction() as session:
        body = p.run_summary(get_run(session, principal, run_id=str(run_id)))
    return body, 202, {"Preference-Applied": f"wait={wait}"}


@bp.get("/routines/<routine_id>/runs")
def index(routine_id: str) -> Any:
    with work() as w:
        limit = clamp_limit(request.args.get("limit"))
        runs = list_runs(w.session, w.principal, routine_id=routine_id, limit=limit)
        return [p.run_summary(s) for s in runs]


@bp.get("/routine-runs/<run_id>")
def show(run_id: str) -> Any:
    with work() as w:
        return p.run_summary(get_run(w.session, w.principal, run_id=run_id))


def _run_request(body: RunCreate) -> RunRequest:
    workspace = {
        "id": body.execution_workspace_id,
        "preference": body.execution_workspace_preference,
        "settings": body.execution_workspace_settings,
    }
    return RunRequest(
        source=body.source,
        trigger_id=body.trigger_id,
        payload=body.payload,
        variables=body.variables,
        idempotency_key=body.idempotency_key or None,
        project_id=body.project_id,
        assignee_agent_id=body.assignee_agent_id,
        execution_workspace=workspace if any(workspace.values()) else None,
    )


def _prefer_wait() -> int | None:
    match = _WAIT.search(request.headers.get("Prefer", ""))
    if match is None:
        return None
    digits = match.group(1)
    # Any absurdly long number is simply "the longest wait"; int() of it would raise.
    return MAX_WAIT_SECONDS if len(digits) > 6 else min(int(digits), MAX_WAIT_SECONDS)


def _undecided(run_id: uuid.UUID) -> Callable[[], bool]:
    def still_received() -> bool:
        with transaction() as session:
            return run_status(session, run_id) == "received"

    return still_received
