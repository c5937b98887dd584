"""Hypothesis strategies for request bodies: values drawn from the OpenAPI document's
schemas, and bodies no schema allows (wrong JSON, wrong encodings, a megabyte)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz_world import LIMIT, FuzzWorld

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
#: Text including lone surrogates, which JSON can escape but UTF-8 cannot carry.
WILD_TEXT = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=30)
JSON = st.recursive(
    SCALARS | WILD_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: What a header can carry over HTTP: latin-1 without control characters.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
PATH_JUNK = [
    "0",
    "-1",
    "null",
    "undefined",
    "true",
    "%00",
    "%2e%2e",
    "..%2f..",
    "%25",
    "%ff%fe",
    "%ed%a0%80",
    "'%20OR%201%3D1--",
    "a" * 300,
    "1e999",
    "NaN",
    "%F0%9F%92%A9",
    "%E2%80%AE",
]
QUERY_KEYS = [
    "limit",
    "cursor",
    "status",
    "originKind",
    "originId",
    "assigneeAgentId",
    "projectId",
    "count",
]
CRONS = ["0 9 * * *", "*/5 * * * *", "@daily", "0 0 9 * * 1", "61 * * * *", "* * * * ?", ""]
#: Backfill bounds: a few real ranges' ends, the calendar's edges, naive and impossible.
INSTANTS = [
    "2026-01-01T00:00:00Z",
    "2026-01-01T05:00:00.123+05:00",
    "1971-12-31T23:59:59Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "2026-01-01T00:00:00",
    "2026-02-30T00:00:00Z",
]
TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "Mars/Olympus", "", "../../etc/passwd"]
TITLES = ["Daily {{ who }}", "{{date}} {{ timestamp }}", "{{ dueDate }} for {{x}}", "{{ 1bad }}"]
VARIABLE = st.fixed_dictionaries(
    {"name": st.sampled_from(["who", "n", "dueDate", "date", "1bad", ""]) | st.text(max_size=8)},
    optional={
        "type": st.sampled_from(["text", "textarea", "number", "boolean", "select", "date", "x"]),
        "label": SCALARS,
        "required": st.booleans() | SCALARS,
        "defaultValue": SCALARS | st.sampled_from(["2026-01-01", "2026-02-30", "yes", "s"]),
        "options": st.lists(st.sampled_from(["s", "m", "l"]) | st.text(max_size=4), max_size=4)
        | JSON,
    },
)


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def request_schema(doc: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    body = doc["paths"][path][method].get("requestBody")
    if body is None:
        return None
    return resolve(doc, body["content"]["application/json"]["schema"])


def encode_plain(value: Any) -> bytes:
    return json.dumps(value).encode()


def encode(value: Any, ascii_only: bool) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def odd_bodies(names: list[str]) -> st.SearchStrategy[bytes]:
    """Raw bytes that are almost JSON, or JSON that PostgreSQL cannot store."""
    name = st.sampled_from(names or ["x"])
    literal = st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-Infinity",
            "1e999",
            "-1e999",
            '"\\ud800"',
            '"\\udfff\\ud800"',
            '"a\\u0000b"',
            '{"\\u0000": 1}',
            "9" * 5000,
            '"' + "\\" * 3 + '"',
        ]
    )
    depth = st.sampled_from([63, 64, 65, 1000, 100_000])
    size = st.sampled_from([LIMIT - 64, LIMIT + 1])
    return st.one_of(
        st.builds(lambda n, v: f'{{"{n}": {v}}}'.encode(), name, literal),
        name.map(lambda n: b'{"' + n.encode() + b'": "\xed\xa0\x80"}'),
        name.map(lambda n: b'{"' + n.encode() + b'": "\xff\xfe"}'),
        depth.map(lambda d: b"[" * d + b"]" * d),
        depth.map(lambda d: b'{"a": ' * d + b"1" + b"}" * d),
        depth.map(lambda d: b"[" * d),
        st.builds(lambda n, s: b'{"' + n.encode() + b'": "' + b"x" * s + b'"}', name, size),
        st.binary(max_size=200),
        st.sampled_from(
            [
                b"",
                b"   ",
                b"\xef\xbb\xbf{}",
                "{}".encode("utf-16"),
                b'{"a": 1} trailing',
                b'{"a": 1, "a": 2}',
                b"{",
                b"}",
                b"\x00",
                b'{"a": 1}\x00',
                b"null",
            ]
        ),
    )


#: Values whose answer no schema predicts, each found or feared here: hostile zones,
#: impossible or pre-1972 instants, cron the parser must refuse, template edge cases.
EDGES = {
    "cronExpression": CRONS,
    "timezone": TIMEZONES,
    "from": INSTANTS,
    "to": INSTANTS,
    "title": TITLES,
    "description": TITLES,
}


def edge_value(name: str, world: FuzzWorld) -> st.SearchStrategy[Any]:
    if name in EDGES:
        return st.sampled_from(EDGES[name])
    if name == "variables":
        return st.lists(VARIABLE, max_size=4) | JSON
    if name.endswith("Id"):
        return st.sampled_from(world.every_id) | JSON
    return JSON


def bodies(schema: dict[str, Any] | None, world: FuzzWorld) -> st.SearchStrategy[bytes | None]:
    """What schemathesis does not send (tests/e2e/test_schemathesis.py generates the bodies
    the schema describes, valid and not, and follows the links to real ids): the domain's
    edge values under the body's own keys, raw bytes that are almost JSON, and JSON that
    PostgreSQL cannot store."""
    names = list((schema or {}).get("properties", {}))
    edges = st.fixed_dictionaries({}, optional={n: edge_value(n, world) for n in names})
    keyed = st.dictionaries(st.sampled_from(names) if names else st.text(), JSON)
    return st.one_of(
        st.builds(encode, edges, st.booleans()),
        st.builds(encode, edges, st.booleans()),
        st.builds(encode, keyed, st.booleans()),
        st.builds(encode, JSON, st.booleans()),
        odd_bodies(names),
        odd_bodies(names),
        st.none(),
    )
