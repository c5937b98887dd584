"""The built-in ops page: static HTML that polls an admin-only JSON summary."""

from __future__ import annotations

from dataclasses import asdict
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response

from shared.platform.ops_summary import ops_summary
from shared.schedules.leadership import leader_status
from web.context import now, runtime, work

bp = Blueprint("ops", __name__)

_PAGE = files("web").joinpath("ops_page.html").read_text(encoding="utf-8")


@bp.get("/ops")
def page() -> Response:
    """No data in the page itself: it asks for the admin token and fetches the summary."""
    response = Response(_PAGE, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/api/ops/summary")
def summary() -> Any:
    with work() as w:
        data = ops_summary(
            w.session,
            w.principal,
            broker=runtime().broker,
            now=now(),
            leader=leader_status(runtime().settings, runtime().redis),
        )
        return asdict(data)
