"""One table from error class to status, one JSON shape for every error."""

from __future__ import annotations

import logging

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
    body: dict[str, object] = {"error": message}
    if details is not None:
        body["details"] = details
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(errors.DomainError)
    def domain_error(error: errors.DomainError) -> tuple[Response, int]:
        response, status = error_response(
            STATUS.get(type(error), 400), error.message, error.details
        )
        if isinstance(error, errors.TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after)
        if isinstance(error, errors.UnsupportedMediaType):
            accept = "Accept-Patch" if request.method == "PATCH" else "Accept-Post"
            response.headers[accept] = "application/json"
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        message = HTTP_MESSAGES.get(status) or error.description or error.name
        if status == 404 and not request.path.startswith("/api"):
            message = "Not found"
        response, status = error_response(status, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
        return response, status

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeout)
    def database_down(error: Exception) -> tuple[Response, int]:
        log.warning("database unavailable: %s", type(error).__name__)
        return error_response(503, "Database unavailable")

    @app.errorhandler(DataError)
    def bad_value(_error: DataError) -> tuple[Response, int]:
        log.warning("database refused a value", exc_info=True)
        return error_response(400, "Invalid value")

    @app.after_request
    def retry_after(response: Response) -> Response:
        """RFC 9110 `Retry-After` on every 429 and 503, whichever code path produced it."""
        default = {429: RATE_LIMITED_RETRY_AFTER, 503: UNAVAILABLE_RETRY_AFTER}
        if response.status_code in default and "Retry-After" not in response.headers:
            response.headers["Retry-After"] = str(default[response.status_code])
        return response

    @app.errorhandler(Exception)
    def unexpected(_error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "Internal server error")
