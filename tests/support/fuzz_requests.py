"""Hypothesis strategies for whole requests to one operation (path values, query strings,
authorizations, headers, a body) and the rule every answer must follow."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

from hypothesis import strategies as st

from devstack.api import ADMIN_TOKEN
from tests.support.fuzz_bodies import (
    HEADER_TEXT,
    JSON,
    PATH_JUNK,
    QUERY_KEYS,
    SCALARS,
    WILD_TEXT,
    bodies,
    odd_bodies,
    request_schema,
)
from tests.support.fuzz_world import WRITE_METHODS, FuzzWorld


def path_values(name: str, world: FuzzWorld) -> st.SearchStrategy[str]:
    existing = world.ids.get(name) or world.every_id
    return st.one_of(
        st.sampled_from(existing),
        st.sampled_from(existing),
        st.sampled_from(world.every_id),
        st.uuids().map(str),
        st.uuids().map(lambda u: u.hex.upper()),
        st.text(min_size=1, max_size=40).map(lambda s: quote(s, safe="")),
        st.binary(min_size=1, max_size=24).map(lambda b: quote_from_bytes(b, safe="")),
        st.sampled_from(PATH_JUNK),
    )


#: The sort keys of the paged lists: shaped values most of the time, so that a cursor often
#: gets past its base64 and JSON into the type checks and the database.
STAMPS = st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()) | st.sampled_from(
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00:00Z", ""]
)
TYPED = {
    "created_at": STAMPS,
    "updated_at": STAMPS,
    "number": st.integers(-(2**31), 2**31 - 1) | st.integers(),
    "title": st.text(max_size=210) | WILD_TEXT,
    "id": st.uuids().map(str),
}


def cursor_key(*names: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({n: TYPED[n] for n in names})


CURSOR_OBJECTS = st.one_of(
    cursor_key("created_at", "number", "id"),
    cursor_key("updated_at", "title", "id"),
    cursor_key("created_at", "id"),
    st.dictionaries(st.sampled_from(list(TYPED)), SCALARS | STAMPS, max_size=4),
    JSON,
)
CURSORS = st.builds(
    lambda key, padded: (
        base64.urlsafe_b64encode(json.dumps(key).encode("utf-8", "surrogatepass"))
        .decode()
        .rstrip("" if padded else "=")
    ),
    CURSOR_OBJECTS,
    st.booleans(),
)


QUERY_STRINGS = st.one_of(
    st.just(""),
    st.tuples(
        CURSORS, st.sampled_from(["", "&limit=1", "&limit=0", "&limit=x", "&status=todo"])
    ).map(lambda pair: f"cursor={pair[0]}{pair[1]}"),
    st.lists(
        st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=8), st.text(max_size=40)),
        max_size=4,
    ).map(lambda pairs: urlencode(pairs, quote_via=quote)),
    st.tuples(st.sampled_from(QUERY_KEYS), st.binary(max_size=20)).map(
        lambda kv: f"{kv[0]}={quote_from_bytes(kv[1], safe='')}"
    ),
)


ODD_AUTHORIZATIONS = [
    "Bearer",
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    f"bearer {ADMIN_TOKEN}",
    f"Bearer   {ADMIN_TOKEN}  ",
    f"Token {ADMIN_TOKEN}",
    "Bearer rta_",
    "Bearer rtb_" + "0" * 48,
    "Bearer rta_" + "f" * 48,
    f"Bearer {ADMIN_TOKEN}x",
]


def authorizations(world: FuzzWorld) -> st.SearchStrategy[str | None]:
    """Mostly the admin, then the world's agents and members, then nobody or nonsense."""
    admin = st.just(f"Bearer {ADMIN_TOKEN}")
    known = st.sampled_from([f"Bearer {token}" for token in world.tokens])
    return st.one_of(
        admin,
        admin,
        admin,
        admin,
        known,
        known,
        st.none(),
        st.sampled_from(ODD_AUTHORIZATIONS),
        HEADER_TEXT,
        HEADER_TEXT.map(lambda s: "Bearer " + s),
    )


CONTENT_TYPES = st.one_of(
    st.just("application/json"),
    st.just("application/json"),
    st.sampled_from(
        [
            "application/json; charset=utf-8",
            "application/merge-patch+json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/xml",
            "",
            "application/json; charset=latin-1",
            "*/*",
        ]
    ),
    HEADER_TEXT,
    st.none(),
)
#: Only waits that end at once: the fuzz must not sit in `Prefer: wait=N`.
PREFER = st.sampled_from(["wait=0", "return=minimal", "wait=", "wait=-1", "respond-async"])


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    def describe(self) -> str:
        shown = self.body if self.body is None or len(self.body) < 300 else self.body[:300]
        return f"{self.method} {self.url} headers={self.headers!r} body={shown!r}"


def make_call(
    method: str, path: str, params: tuple[str, ...], query: str, headers: dict[str, Any], body: Any
) -> Call:
    values = iter(params)
    url = re.sub(r"\{[^}]+\}", lambda _m: next(values), path)
    sent = {name: value for name, value in headers.items() if value is not None}
    return Call(method.upper(), url + (f"?{query}" if query else ""), sent, body)


def calls(method: str, path: str, world: FuzzWorld) -> st.SearchStrategy[Call]:
    """Built once per operation: hypothesis validates a strategy the first time it is used,
    and rebuilding them for every example would cost more than the requests."""
    key = (method, path)
    if key not in world.strategies:
        names = re.findall(r"\{([^}]+)\}", path)
        headers = st.fixed_dictionaries(
            {"Authorization": authorizations(world)},
            optional={
                "Content-Type": CONTENT_TYPES,
                "Prefer": PREFER,
                "X-Request-Id": HEADER_TEXT,
                "Idempotency-Key": HEADER_TEXT,
            },
        )
        if method in WRITE_METHODS:
            body = bodies(request_schema(world.doc, method, path), world)
        else:
            body = st.none() | st.none() | st.none() | odd_bodies([])
        world.strategies[key] = st.builds(
            make_call,
            st.just(method),
            st.just(path),
            st.tuples(*(path_values(name, world) for name in names)),
            QUERY_STRINGS,
            headers,
            body,
        )
    return world.strategies[key]


def send(world: FuzzWorld, call: Call) -> Any:
    return world.client.open(call.url, method=call.method, headers=call.headers, data=call.body)


def assert_clean_answer(call: Call, response: Any) -> None:
    status = response.status_code
    assert status < 500, f"{status} {response.data[:300]!r} for {call.describe()}"
    if 400 <= status < 500:
        body = response.get_json(silent=True)
        assert isinstance(body, dict), f"{status} not JSON for {call.describe()}"
        assert isinstance(body.get("error"), str), f"{status} {body!r} for {call.describe()}"
        assert body["error"], call.describe()
    elif status == 204:
        assert response.data == b"", call.describe()
    elif 200 <= status < 300:
        assert response.get_json(silent=True) is not None, call.describe()
