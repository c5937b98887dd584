"""Schedules seen ahead: the next fire times of a trigger or of an unsaved expression."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import CronPreview
from shared.contract.parsing import parse_body
from shared.schedules.preview import cron_fire_times, parse_count, trigger_fire_times
from web import presenters as p
from web.body import json_object
from web.context import now, work

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
