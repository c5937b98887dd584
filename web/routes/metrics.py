"""Prometheus scrape endpoint of the web process."""

from __future__ import annotations

from flask import Blueprint, Response

from shared.platform.metrics import exposition
from web.context import runtime

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape() -> Response:
    body, content_type = exposition(runtime().broker)
    return Response(body, content_type=content_type)
