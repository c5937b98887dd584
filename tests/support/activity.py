"""Reading a company's activity log in tests, and following its `Link` header."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from devstack.api import Api


def activity(api: Api, company: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    return list(api.ok("GET", f"/api/companies/{company['id']}/activity{query}"))


def actions(entries: list[dict[str, Any]]) -> list[str]:
    return [entry["action"] for entry in entries]


def next_link(headers: dict[str, str]) -> str | None:
    """The path and query of a `Link: <url>; rel="next"` header, or None."""
    match = re.fullmatch(r'<([^>]+)>; rel="next"', headers.get("Link", ""))
    if match is None:
        return None
    url = urlsplit(match.group(1))
    return f"{url.path}?{url.query}"
