"""One table from error class to status, one JSON shape for every error."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from shared.contract import errors

log = logging.getLogger(__name__)

STATUS: dict[object, int] = {
    errors.Invalid: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.Unprocessable: 422,
    errors.TooManyRequests: 429,
    errors.Unavailable: 503,
}

#: Seconds a client is told to wait (`Retry-After`) after a 503, when nothing knows better.
UNAVAILABLE_RETRY_AFTER = 5
#: ... and after a 429 whose limiter did not say when its window turns.
RATE_LIMITED_RETRY_AFTER = 60

HTTP_MESSAGES = {
    404: "API route not found",
    405: "Method not allowed",
    413: "Request body too large",
}


def error_response(status: int, message: str, details: object = None) -> tuple[Response, int]:
    return jsonify(error_body(message, details)), status


def error_body(message: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"error": message}
    if details is not None:
        body["details"] = details
    return body


@dataclass(frozen=True)
class Problem:
    """An error as the client is told it, whichever framework answers (web.public_fire
    answers without Flask)."""

    status: int
    body: dict[str, object]
    headers: dict[str, str] = field(default_factory=dict)


def problem(error: Exception, method: str, path: str) -> Problem:
    """The answer to an error raised by a view: the status of its class (STATUS), 503
    for a database that is away, 400 for a value it refused, else a logged 500."""
    if isinstance(error, errors.DomainError):
        headers = {}
        if isinstance(error, errors.TooManyRequests):
            headers["Retry-After"] = str(error.retry_after)
        if isinstance(error, errors.UnsupportedMediaType):
            headers["Accept-Patch" if method == "PATCH" else "Accept-Post"] = "application/json"
        return Problem(
            STATUS.get(type(error), 400), error_body(error.message, error.details), headers
        )
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        log.warning("database unavailable: %s", type(error).__name__)
        return Problem(503, error_body("Database unavailable"))
    if isinstance(error, DataError):
        log.warning("database refused a value", exc_info=error)
        return Problem(400, error_body("Invalid value"))
    log.error("unhandled error on %s %s", method, path, exc_info=error)
    return Problem(500, error_body("Internal server error"))


def retry_after(status: int) -> str | None:
    """RFC 9110 `Retry-After` for a 429 or 503 whose code path did not say."""
    default = {429: RATE_LIMITED_RETRY_AFTER, 503: UNAVAILABLE_RETRY_AFTER}.get(status)
    return None if default is None else str(default)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Exception)
    def raised(error: Exception) -> tuple[Response, int]:
        if isinstance(error, HTTPException):
            return http_error(error)
        answer = problem(error, request.method, request.path)
        response = jsonify(answer.body)
        response.headers.update(answer.headers)
        return response, answer.status

    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        message = HTTP_MESSAGES.get(status) or error.description or error.name
        if status == 404 and not request.path.startswith("/api"):
            message = "Not found"
        response, status = error_response(status, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response, status

    @app.after_request
    def add_retry_after(response: Response) -> Response:
        """On every 429 and 503, whichever code path produced it."""
        wait = retry_after(response.status_code)
        if wait is not None and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = wait
        return response
