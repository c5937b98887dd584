"""Keyset pages on SQLite (the embedded mode): the same walk as on PostgreSQL, where the
routines' mixed-direction order cannot be a row-value comparison."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from devstack.api import Api, make_company, make_routine
from tests.support.clock import FixedClock

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0
NEXT = re.compile(r'<([^>]+)>; rel="next"')


def walk(api: Api, url: str | None) -> tuple[list[int], list[str]]:
    sizes, ids = [], []
    while url is not None:
        response = api.get(url)
        assert response.status == 200, response.body
        sizes.append(len(response.body))
        ids.extend(row["id"] for row in response.body)
        match = NEXT.fullmatch(response.headers.get("Link", ""))
        url = f"{urlsplit(match.group(1)).path}?{urlsplit(match.group(1)).query}" if match else None
    return sizes, ids


def test_issues_sharing_a_creation_time_are_walked_once_each_on_sqlite(
    api: Api, clock: FixedClock
) -> None:
    company = make_company(api)
    url = f"/api/companies/{company['id']}/issues"
    for minute in range(2):
        for n in range(3):
            api.ok("POST", url, {"title": f"m{minute}-{n}"}, status=201)
        clock.advance(minutes=1)
    whole = [issue["id"] for issue in api.ok("GET", url)]
    assert walk(api, f"{url}?limit=2") == ([2, 2, 2], whole)


def test_routines_with_equal_times_and_titles_are_walked_once_each_on_sqlite(
    api: Api, clock: FixedClock
) -> None:
    company = make_company(api)
    made = [make_routine(api, company, None, title=t)["id"] for t in ("B", "A", "B", "A", "C")]
    url = f"/api/companies/{company['id']}/routines"
    whole = [routine["id"] for routine in api.ok("GET", url)]
    sizes, walked = walk(api, f"{url}?limit=2")
    assert (sizes, walked) == ([2, 2, 1], whole)
    assert sorted(walked) == sorted(made)
