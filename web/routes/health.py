"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from shared.platform.health import readiness
from web.context import runtime
from web.openapi import document

bp = Blueprint("health", __name__, url_prefix="/api")


@bp.get("/health")
def ready() -> Any:
    checks = readiness(runtime())
    failed = [c.name for c in checks if not c.ok]
    body: dict[str, object] = {
        "status": "ok" if not failed else "unavailable",
        "mode": runtime().settings.mode,
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    if failed:
        body["failed"] = failed
    return body, 200 if not failed else 503


@bp.get("/health/live")
def live() -> Any:
    return {"status": "ok"}


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return document(current_app)
