"""Schedules seen ahead and behind: the next fire times of a trigger or of an unsaved
expression, and backfilling a past range of a trigger."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import Backfill, CronPreview
from shared.contract.parsing import parse_body
from shared.runs.reading import summarize_runs
from shared.schedules.backfill import backfill_trigger
from shared.schedules.preview import cron_fire_times, parse_count, trigger_fire_times
from web import presenters as p
from web.body import json_object
from web.context import now, runtime, work
from web.telemetry import request_id

bp = Blueprint("schedules", __name__, url_prefix="/api")


@bp.get("/routine-triggers/<trigger_id>/next-runs")
def next_runs(trigger_id: str) -> Any:
    with work() as w:
        count = parse_count(request.args.get("count"))
        times = trigger_fire_times(
            w.session, w.principal, trigger_id=trigger_id, count=count, now=now()
        )
        return p.fire_times(times)


@bp.post("/cron/preview")
def preview() -> Any:
    with work():
        body = parse_body(CronPreview, json_object())
        return p.fire_times(cron_fire_times(body, now=now()))


@bp.post("/routine-triggers/<trigger_id>/backfill")
def backfill(trigger_id: str) -> Any:
    with work() as w:
        body = parse_body(Backfill, json_object())
        done = backfill_trigger(
            w.session, w.principal, trigger_id=trigger_id, command=body, now=now()
        )
        runs = [p.run_summary(s) for s in summarize_runs(w.session, list(done.runs))]
    if done.runs:
        runtime().enqueuer.dispatch_runs([run.id for run in done.runs], request_id=request_id())
    return {"recorded": len(done.runs), "skipped": done.skipped, "runs": runs}, 202
