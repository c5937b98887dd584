"""Trigger changes, secret rotation, and the public webhook fire."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import SecretRotate, TriggerPatch
from shared.contract.parsing import parse_body
from shared.platform.metrics import FIRES_ACCEPTED
from shared.routines.triggers import (
    TriggerWithSecret,
    delete_trigger,
    rotate_secret,
    update_trigger,
)
from shared.webhooks.public_fire import Repeated, fire_webhook
from shared.webhooks.ratelimit import FireBudget
from web import presenters as p
from web.body import json_object, raw_body
from web.context import now, runtime, work

bp = Blueprint("triggers", __name__, url_prefix="/api")


@bp.patch("/routine-triggers/<trigger_id>")
def update(trigger_id: str) -> Any:
    with work() as w:
        raw = json_object()
        trigger = update_trigger(
            w.session,
            w.principal,
            trigger_id=trigger_id,
            command=parse_body(TriggerPatch, raw),
            raw_kind=raw.get("kind"),
            now=now(),
        )
        return p.trigger(trigger)


@bp.delete("/routine-triggers/<trigger_id>")
def delete(trigger_id: str) -> Any:
    with work() as w:
        delete_trigger(w.session, w.principal, trigger_id=trigger_id, now=now())
        return "", 204


@bp.post("/routine-triggers/<trigger_id>/rotate-secret")
def rotate(trigger_id: str) -> Any:
    with work() as w:
        rotated = rotate_secret(
            w.session,
            w.principal,
            trigger_id=trigger_id,
            command=parse_body(SecretRotate, json_object()),
            box=runtime().box,
            public_url=runtime().settings.public_url,
            now=now(),
        )
        return with_secret(rotated)


@bp.post("/routine-triggers/public/<public_id>/fire")
def fire_public(public_id: str) -> Any:
    serving = runtime()
    settings, at = serving.settings, serving.clock.now()
    budget = FireBudget(
        serving.rate_counter,
        client=request.remote_addr or "unknown",
        per_trigger=settings.rate_limit_per_trigger,
        per_client=settings.rate_limit_per_client,
        at=at.timestamp(),
    )
    body = raw_body()
    accepted = fire_webhook(
        serving.autocommit,
        public_id=public_id,
        headers=lower_case(request.headers),
        body=body,
        content_type=request.mimetype or "",
        box=serving.box,
        budget=budget,
        now=at,
        hooks=serving.hooks,
    )
    if isinstance(accepted, Repeated):
        return p.run_summary(accepted.summary), 202
    FIRES_ACCEPTED.labels("webhook").inc()
    serving.dispatch_batcher.add(accepted.values["id"])
    hook = accepted.hook
    return p.new_run(accepted.values, hook.trigger_id, hook.kind, hook.label), 202


def with_secret(result: TriggerWithSecret) -> dict[str, Any]:
    material = result.secret
    return {
        "trigger": p.trigger(result.trigger),
        "secretMaterial": {
            "webhookUrl": material.webhook_url,
            "webhookSecret": material.webhook_secret,
        }
        if material
        else None,
    }


def lower_case(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
