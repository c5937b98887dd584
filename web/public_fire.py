"""The public webhook fire answered as plain WSGI, in front of Flask.

It is the one request senders make in bursts, and Flask's request context, hooks and
response building were about a quarter of a web process's Python time per fire
(bench/results/profiles). `PublicFire` answers `POST .../public/<id>/fire` for a
well-formed id and a body whose length is given and within the limit; everything else,
the same path included (a chunked body, an oversized one, another method), goes to
Flask, whose view answers through the same `accept`. Both tell errors with
web.errors.problem and record the request with web.telemetry.observe, so a client,
a dashboard and a log reader cannot tell which of the two answered.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.http import HTTP_STATUS_CODES, parse_options_header

from shared.platform.metrics import FIRES_ACCEPTED
from shared.platform.runtime import Runtime
from shared.webhooks.public_fire import Repeated, fire_webhook
from shared.webhooks.ratelimit import FireBudget
from web import presenters as p
from web.errors import error_body, problem, retry_after
from web.telemetry import new_request_id, observe

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

#: The route's template, as Flask names it in metrics and logs.
ROUTE = "/api/routine-triggers/public/<public_id>/fire"
_PATH = re.compile(r"/api/routine-triggers/public/([0-9a-f]{24})/fire")


def accept(
    serving: Runtime,
    *,
    public_id: str,
    headers: Mapping[str, str],  # names in lower case
    body: bytes,
    content_type: str,
    client: str,
) -> Any:
    """The 202's body for an accepted delivery (its run queued for a decision), or the
    domain error that refuses it."""
    settings, at = serving.settings, serving.clock.now()
    budget = FireBudget(
        serving.rate_counter,
        client=client,
        per_trigger=settings.rate_limit_per_trigger,
        per_client=settings.rate_limit_per_client,
        at=at.timestamp(),
    )
    accepted = fire_webhook(
        serving.autocommit,
        public_id=public_id,
        headers=headers,
        body=body,
        content_type=content_type,
        box=serving.box,
        budget=budget,
        now=at,
        hooks=serving.hooks,
    )
    if isinstance(accepted, Repeated):
        return p.run_summary(accepted.summary)
    FIRES_ACCEPTED.labels("webhook").inc()
    serving.dispatch_batcher.add(accepted.values["id"])
    hook = accepted.hook
    return p.new_run(accepted.values, hook.trigger_id, hook.kind, hook.label)


class PublicFire:
    """WSGI middleware: the public fire without Flask, every other request to it."""

    def __init__(self, app: Flask, downstream: WSGIApplication) -> None:
        self.app = app
        self.downstream = downstream
        self.runtime: Runtime = app.extensions["routines"]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        length = _length(environ)
        found = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        limit = self.runtime.settings.body_limit
        if environ["REQUEST_METHOD"] != "POST" or not found or length is None or length > limit:
            return self.downstream(environ, start_response)
        started = time.perf_counter()
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        headers: dict[str, str] = {}
        try:
            body = environ["wsgi.input"].read(length) if length else b""
            if len(body) < length:
                status, answer = 400, error_body("Client disconnected before the body ended")
            else:
                status, answer = 202, self._accept(environ, found.group(1), body)
        except Exception as error:  # every error has its answer (web.errors)
            refused = problem(error, "POST", environ.get("PATH_INFO", ""))
            status, answer, headers = refused.status, refused.body, dict(refused.headers)
        wait = retry_after(status)
        if wait is not None:
            headers.setdefault("Retry-After", wait)
        data = f"{self.app.json.dumps(answer, separators=(',', ':'))}\n".encode()
        observe(request_id, "POST", ROUTE, status, time.perf_counter() - started)
        start_response(
            f"{status} {HTTP_STATUS_CODES.get(status, 'Error').upper()}",  # as werkzeug writes it
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                *headers.items(),
                ("X-Request-Id", request_id),
            ],
        )
        return [data]

    def _accept(self, environ: WSGIEnvironment, public_id: str, body: bytes) -> Any:
        return accept(
            self.runtime,
            public_id=public_id,
            headers=_headers(environ),
            body=body,
            content_type=parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower(),
            client=environ.get("REMOTE_ADDR") or "unknown",
        )


def _length(environ: WSGIEnvironment) -> int | None:
    """The body's declared length (0 for none, as HTTP/1.1 reads a request without
    one); None for a chunked body or a length that is not a number: Flask reads those."""
    if environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    declared = environ.get("CONTENT_LENGTH")
    if not declared:
        return 0
    return int(declared) if declared.isdigit() else None


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's headers by lower-case name, as werkzeug's EnvironHeaders lists them."""
    headers = {
        name[5:].replace("_", "-").lower(): value
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").lower()] = environ[name]
    return headers
