"""Request metrics and ids: every request is counted by its route template, and
carries an id (X-Request-Id, or a new one) into the logs and the worker message."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request

from shared.contract.errors import NotFound
from shared.contract.jsontext import storable_text
from shared.platform.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("routines.requests")


def install(app: Flask) -> None:
    @app.before_request
    def start() -> None:
        g.started = time.perf_counter()
        g.request_id = new_request_id(request.headers.get("X-Request-Id"))
        # A path PostgreSQL cannot even compare (NUL, lone surrogates) names nothing.
        if not storable_text(request.path):
            raise NotFound("API route not found")

    @app.after_request
    def finish(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        started = g.get("started")
        elapsed = time.perf_counter() - started if started is not None else 0.0
        observe(g.get("request_id"), request.method, route, response.status_code, elapsed)
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response


def new_request_id(sent: str | None) -> str:
    """The caller's X-Request-Id (cut to 64 characters), or a new one."""
    return (sent or "")[:64] or uuid.uuid4().hex


def observe(request_id: str | None, method: str, route: str, status: int, elapsed: float) -> None:
    """A request's metrics and its log line, by its route template."""
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(elapsed)
    log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
        },
    )


def request_id() -> str | None:
    return g.get("request_id")  # type: ignore[no-any-return]
