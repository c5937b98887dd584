"""Identifier parsing: a malformed id is just an id that does not exist."""

from __future__ import annotations

import uuid

from shared.contract.errors import NotFound


def parse_id(raw: str | uuid.UUID, not_found: str) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        raise NotFound(not_found) from None


def maybe_uuid(raw: object) -> uuid.UUID | None:
    """The UUID a string spells, or None; for ids that arrive in bodies."""
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
