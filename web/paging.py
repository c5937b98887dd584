"""Pages on the wire: the body stays a plain JSON array (what clients of the reference API
expect), and an RFC 8288 `Link: <...>; rel="next"` header says where the next page is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from flask import request
from werkzeug.urls import iri_to_uri

from shared.contract.paging import Page, PageRequest
from shared.runs.reading import clamp_limit

T = TypeVar("T")

#: Query parameters the next page's link sets itself; every other one is kept as sent.
PAGE_PARAMETERS = ("cursor", "limit")


def page_request() -> PageRequest:
    """`limit` as the runs list reads it; an empty `cursor` is no cursor, like the filters."""
    return PageRequest(
        limit=clamp_limit(request.args.get("limit")), cursor=request.args.get("cursor") or None
    )


def paged(page: Page[T], present: Callable[[T], Any], *, position: str = "cursor") -> Any:
    """`position` names the query parameter the next page's position goes in: `cursor`,
    or `before` for the activity log, whose position is an entry id."""
    body = [present(item) for item in page.items]
    if page.next_cursor is None:
        return body
    return body, {"Link": f'<{next_page_url(page.next_cursor, position)}>; rel="next"'}


def next_page_url(cursor: str, position: str = "cursor") -> str:
    """This request's own URL with its filters, the position and the limit actually used."""
    skipped = (*PAGE_PARAMETERS, position)
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in skipped]
    limit = str(clamp_limit(request.args.get("limit")))
    query = urlencode([*kept, (position, cursor), ("limit", limit)], quote_via=quote)
    return f"{iri_to_uri(request.base_url)}?{query}"
