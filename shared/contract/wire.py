"""Column values as the API writes them: camelCase keys, ids and instants as strings.

One place for both the web's presenters and the activity log's `details`, so an entry
shows a changed field exactly as the resource itself shows it."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

from shared.contract.timefmt import iso


@functools.cache
def camel(name: str) -> str:
    """Cached: the same few dozen column names are converted on every response."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def value(raw: Any) -> Any:
    if isinstance(raw, uuid.UUID):
        return str(raw)
    if isinstance(raw, datetime):
        return iso(raw)
    return raw
