"""Trigger changes, secret rotation, and the public webhook fire."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from shared.contract.bodies import SecretRotate, TriggerPatch
from shared.contract.parsing import parse_body
from shared.routines.triggers import (
    TriggerWithSecret,
    delete_trigger,
    rotate_secret,
    update_trigger,
)
from web import presenters as p
from web.body import json_object, raw_body
from web.context import now, runtime, work
from web.public_fire import accept

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
    """Most deliveries are answered by web.public_fire before Flask sees them; this view
    answers the rest (a chunked or oversized body, an id of another shape)."""
    body = raw_body()
    answer = accept(
        runtime(),
        public_id=public_id,
        headers=lower_case(request.headers),
        body=body,
        content_type=request.mimetype or "",
        client=request.remote_addr or "unknown",
    )
    return answer, 202


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
