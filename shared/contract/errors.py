"""One error hierarchy; web/ maps each class to a status code in one table."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every error a caller is meant to see, with its message as the contract."""

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    """The request body or query does not have the required shape (400)."""


class Unauthorized(DomainError):
    """No or bad credentials (401)."""


class Forbidden(DomainError):
    """Authenticated but not allowed (403)."""


class NotFound(DomainError):
    """Missing, or in another company (404): existence is never revealed."""


class Conflict(DomainError):
    """The current state forbids the change (409)."""


class PayloadTooLarge(DomainError):
    """Body over the configured limit (413)."""


class UnsupportedMediaType(DomainError):
    """A JSON endpoint called with another content type (415)."""


class Unprocessable(DomainError):
    """Well-formed but semantically invalid (422)."""


class TooManyRequests(DomainError):
    """A rate limit was passed (429); `retry_after` seconds until it resets."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A dependency (database, broker) is down (503)."""
