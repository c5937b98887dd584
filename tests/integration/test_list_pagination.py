"""Bounded lists: `limit` and an opaque `cursor`, keyset pages in each list's own order,
a plain JSON array as the body and an RFC 8288 `Link: <...>; rel="next"` to the next page.

Rows are made under a clock that does not move, so many share a timestamp: the pages
must still hold each row exactly once, in the order of one big page.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from flask.testing import FlaskClient

from devstack.api import (
    ADMIN_TOKEN,
    Api,
    FlaskTransport,
    Response,
    make_agent,
    make_company,
    make_member,
    make_project,
    make_routine,
)
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.work.issues import new_issue
from tests.support.clock import FixedClock
from web.app import create_app

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLOCK_START = T0
NEXT = re.compile(r'<([^>]+)>; rel="next"')
Json = dict[str, Any]


@pytest.fixture
def client(timed: Runtime) -> FlaskClient:
    return create_app(runtime=timed).test_client()


@pytest.fixture
def api(client: FlaskClient) -> Api:
    """The API with a clock that only moves when told to."""
    return Api(FlaskTransport(client))


def next_url(response: Response) -> str | None:
    """The next page's path and query from the Link header, or None on the last page."""
    header = response.headers.get("Link")
    if header is None:
        return None
    match = NEXT.fullmatch(header)
    assert match, header
    parts = urlsplit(match.group(1))
    assert (parts.scheme, parts.netloc) == ("http", "localhost"), header
    return f"{parts.path}?{parts.query}"


def link_query(response: Response) -> dict[str, list[str]]:
    url = next_url(response)
    assert url is not None
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def pages(api: Api, url: str) -> Iterator[list[Json]]:
    """Follow the Link headers from `url` to the last page."""
    following: str | None = url
    for _ in range(100):
        if following is None:
            return
        response = api.get(following)
        assert response.status == 200, response.body
        assert isinstance(response.body, list)
        yield response.body
        following = next_url(response)
    raise AssertionError("more than 100 pages")


def walk(api: Api, url: str) -> tuple[list[int], list[str]]:
    """Page sizes and the ids of every page in order."""
    walked = list(pages(api, url))
    return [len(page) for page in walked], [row["id"] for page in walked for row in page]


def ids(rows: list[Json]) -> list[str]:
    return [row["id"] for row in rows]


def cursor_of(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def issues_url(company: Json, query: str = "") -> str:
    return f"/api/companies/{company['id']}/issues{query}"


def make_issues(api: Api, clock: FixedClock, company: Json, per_instant: list[int]) -> None:
    """`per_instant[i]` issues at the i-th minute: many share a created_at."""
    for minute, count in enumerate(per_instant):
        for n in range(count):
            body = {"title": f"m{minute}-{n}"}
            api.ok("POST", issues_url(company), body, status=201)
        clock.advance(minutes=1)


# Issues


def test_walking_issues_two_at_a_time_returns_each_once_in_the_order_of_one_big_page(
    api: Api, clock: FixedClock
) -> None:
    company = make_company(api)
    make_issues(api, clock, company, [3, 3, 1])
    whole = api.ok("GET", issues_url(company, "?limit=200"))
    sizes, walked = walk(api, issues_url(company, "?limit=2"))
    assert sizes == [2, 2, 2, 1]
    assert walked == ids(whole)
    assert len(set(walked)) == 7
    assert [issue["title"] for issue in whole] == [
        "m2-0",
        "m1-2",
        "m1-1",
        "m1-0",
        "m0-2",
        "m0-1",
        "m0-0",
    ]


def test_the_last_page_has_no_link_even_when_it_is_full(api: Api, clock: FixedClock) -> None:
    company = make_company(api)
    make_issues(api, clock, company, [4])
    first = api.get(issues_url(company, "?limit=2"))
    assert next_url(first) is not None
    last = api.get(next_url(first) or "")
    assert (last.status, len(last.body)) == (200, 2)
    assert "Link" not in last.headers


def test_filters_stay_applied_on_every_later_page(api: Api, clock: FixedClock) -> None:
    company = make_company(api)
    agent = make_agent(api, company)
    for n in range(6):
        body = {"title": f"i{n}", "status": "todo" if n % 2 else "in_progress"}
        if n % 3:
            body["assigneeAgentId"] = agent["id"]
        api.ok("POST", issues_url(company), body, status=201)
    query = f"?status=todo&assigneeAgentId={agent['id']}"
    whole = api.ok("GET", issues_url(company, query))
    first = api.get(issues_url(company, query + "&limit=1"))
    assert link_query(first)["status"] == ["todo"]
    assert link_query(first)["assigneeAgentId"] == [agent["id"]]
    sizes, walked = walk(api, issues_url(company, query + "&limit=1"))
    assert walked == ids(whole)
    assert sizes == [1, 1]
    assert [i["title"] for i in whole] == ["i5", "i1"]


def test_the_next_link_is_the_requests_own_url_with_its_parameters_then_cursor_and_limit(
    api: Api, client: FlaskClient, clock: FixedClock
) -> None:
    company = make_company(api)
    make_issues(api, clock, company, [3])
    response = client.get(
        issues_url(company, "?limit=1&status=todo,done&originKind="),
        base_url="https://routines.example",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 200
    match = re.fullmatch(
        r"<https://routines\.example(/api/companies/[0-9a-f-]+/issues)"
        r'\?status=todo%2Cdone&originKind=&cursor=[A-Za-z0-9_-]+&limit=1>; rel="next"',
        response.headers["Link"],
    )
    assert match, response.headers["Link"]
    assert match.group(1) == issues_url(company)


@pytest.mark.parametrize(
    ("raw", "size"), [("0", 1), ("-3", 1), ("500", 200), ("abc", 50), ("", 50), ("7", 7)]
)
def test_the_limit_is_clamped_to_1_200_and_a_non_number_is_fifty(
    api: Api, runtime: Runtime, raw: str, size: int
) -> None:
    company = make_company(api)
    with transaction(runtime.sessions) as session:
        for n in range(201):
            new_issue(session, company_id=uuid.UUID(company["id"]), now=T0, title=f"bulk {n}")
    response = api.get(issues_url(company, f"?limit={raw}"))
    assert (response.status, len(response.body)) == (200, size)
    assert link_query(response)["limit"] == [str(size)]


# Cursors


def test_a_cursor_from_another_company_only_positions_the_page(api: Api, clock: FixedClock) -> None:
    mine, theirs = make_company(api, "Mine"), make_company(api, "Theirs")
    make_issues(api, clock, theirs, [2])
    make_issues(api, clock, mine, [3])
    their_cursor = link_query(api.get(issues_url(theirs, "?limit=1")))["cursor"][0]
    listed = api.ok("GET", issues_url(mine, f"?cursor={their_cursor}"))
    assert {issue["companyId"] for issue in listed} <= {mine["id"]}
    listed = api.ok("GET", issues_url(theirs, f"?cursor={their_cursor}"))
    assert [issue["title"] for issue in listed] == ["m0-0"]


ISSUE_KEY = {"created_at": T0.isoformat(), "number": 3, "id": str(uuid.uuid4())}
BAD_CURSORS = {
    "not base64": "%%%",
    "truncated JSON": "eyJ9",
    "padding": cursor_of(ISSUE_KEY) + "==",
    "a JSON list": cursor_of([T0.isoformat(), 3, str(uuid.uuid4())]),
    "wrong types": cursor_of({"created_at": 5, "number": "3", "id": 7}),
    "a boolean number": cursor_of({**ISSUE_KEY, "number": True}),
    "a number beyond 32 bits": cursor_of({**ISSUE_KEY, "number": 2**31}),
    "a float number": cursor_of({**ISSUE_KEY, "number": 3.0}),
    "a time without zone": cursor_of({**ISSUE_KEY, "created_at": "2026-11-23T09:00:00"}),
    "a time out of range": cursor_of({**ISSUE_KEY, "created_at": "0001-01-01T00:00:00+05:00"}),
    "not a uuid": cursor_of({**ISSUE_KEY, "id": "nope"}),
    "a NUL": cursor_of({**ISSUE_KEY, "id": "\x00"}),
    "a key missing": cursor_of({"created_at": T0.isoformat(), "number": 3}),
    "a key too many": cursor_of({**ISSUE_KEY, "title": "x"}),
    "a routine list's cursor": cursor_of(
        {"updated_at": T0.isoformat(), "title": "x", "id": str(uuid.uuid4())}
    ),
    "NaN": base64.urlsafe_b64encode(b'{"number": NaN}').decode(),
    "not UTF-8": base64.urlsafe_b64encode(b'{"\xff": 1}').decode(),
    "too long": "A" * 5000,
}


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_a_malformed_cursor_is_a_400_invalid_cursor(api: Api, cursor: str) -> None:
    company = make_company(api)
    api.ok("POST", issues_url(company), {"title": "One"}, status=201)
    raw = cursor if cursor == "%%%" else quote(cursor, safe="")
    response = api.get(issues_url(company, f"?cursor={raw}"))
    assert (response.status, response.body) == (400, {"error": "Invalid cursor"})


LISTS = [
    "/api/companies",
    "/api/companies/{company}/agents",
    "/api/companies/{company}/projects",
    "/api/companies/{company}/goals",
    "/api/companies/{company}/members",
    "/api/companies/{company}/issues",
    "/api/companies/{company}/issues?originId=junk&status=nothing",
    "/api/companies/{company}/routines",
    "/api/companies/{company}/routines?projectId=junk",
]


@pytest.mark.parametrize("template", LISTS)
def test_every_list_refuses_a_malformed_cursor_even_when_nothing_matches(
    api: Api, template: str
) -> None:
    url = template.format(company=make_company(api)["id"])
    joiner = "&" if "?" in url else "?"
    response = api.get(f"{url}{joiner}cursor=eyJ9")
    assert (response.status, response.body) == (400, {"error": "Invalid cursor"})
    assert api.ok("GET", url + f"{joiner}cursor=") is not None


# Routines


def routines_url(company: Json, query: str = "") -> str:
    return f"/api/companies/{company['id']}/routines{query}"


def test_walking_routines_keeps_their_order_through_ties_in_updated_at_and_title(
    api: Api, clock: FixedClock
) -> None:
    company = make_company(api)
    made = [make_routine(api, company, None, title=t) for t in ("B", "A", "B", "A", "C")]
    clock.advance(minutes=1)
    api.ok("PATCH", f"/api/routines/{made[4]['id']}", {"description": "touched"})
    whole = api.ok("GET", routines_url(company))
    assert [r["title"] for r in whole] == ["C", "A", "A", "B", "B"]
    sizes, walked = walk(api, routines_url(company, "?limit=2"))
    assert sizes == [2, 2, 1]
    assert walked == ids(whole)
    assert sorted(walked) == sorted(r["id"] for r in made)


def test_the_routine_project_filter_is_kept_across_pages(api: Api) -> None:
    company = make_company(api)
    project = make_project(api, company)
    inside = [make_routine(api, company, None, projectId=project["id"]) for _ in range(3)]
    outside = [make_routine(api, company, None) for _ in range(2)]
    query = f"?projectId={project['id']}&limit=1"
    first = api.get(routines_url(company, query))
    assert link_query(first)["projectId"] == [project["id"]]
    sizes, walked = walk(api, routines_url(company, query))
    assert sizes == [1, 1, 1]
    assert sorted(walked) == sorted(r["id"] for r in inside)
    assert not set(walked) & {r["id"] for r in outside}


def test_a_routine_on_a_later_page_still_has_its_triggers(api: Api) -> None:
    company = make_company(api)
    made = [make_routine(api, company, None, title=t) for t in ("A", "B")]
    api.ok("POST", f"/api/routines/{made[1]['id']}/triggers", {"kind": "api"})
    walked = list(pages(api, routines_url(company, "?limit=1")))
    assert [[(r["title"], len(r["triggers"])) for r in page] for page in walked] == [
        [("A", 0)],
        [("B", 1)],
    ]


# The small lists


def make_five(api: Api, kind: str, company: Json) -> list[str]:
    if kind == "companies":
        return [make_company(api, f"C{n}")["id"] for n in range(5)] + [company["id"]]
    if kind == "agents":
        return [make_agent(api, company, name=f"A{n}")["id"] for n in range(5)]
    if kind == "projects":
        return [make_project(api, company, name=f"P{n}")["id"] for n in range(5)]
    if kind == "goals":
        url = f"/api/companies/{company['id']}/goals"
        return [api.ok("POST", url, {"title": f"G{n}"})["id"] for n in range(5)]
    for _ in range(5):
        make_member(api, company)
    return [m["id"] for m in api.ok("GET", f"/api/companies/{company['id']}/members")]


@pytest.mark.parametrize("kind", ["companies", "agents", "projects", "goals", "members"])
def test_a_small_list_made_in_one_instant_is_walked_without_loss_or_repeat(
    api: Api, kind: str
) -> None:
    company = make_company(api)
    made = make_five(api, kind, company)
    url = "/api/companies" if kind == "companies" else f"/api/companies/{company['id']}/{kind}"
    whole = api.ok("GET", url)
    sizes, walked = walk(api, f"{url}?limit=2")
    assert sorted(walked) == sorted(made)
    assert walked == ids(whole)
    assert sizes == [2] * (len(made) // 2) + [1] * (len(made) % 2)
