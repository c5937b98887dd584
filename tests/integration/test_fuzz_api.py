"""Hypothesis fuzz over every operation of the OpenAPI document (API.md 0: never a 500
for bad input; every error is JSON with an "error" key), plus the public webhook fire.

Each operation gets a fixed budget of examples so the file stays fast in CI; set
ROUTINES_FUZZ_EXAMPLES to raise it (examples per operation), e.g. for a `make fuzz`.
The world is seeded once per module on a runtime of its own, so no example pays for
truncating the database; examples may change that world (pause, archive, revoke),
which only widens what later examples exercise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devstack.api import (
    ADMIN_TOKEN,
    Api,
    FlaskTransport,
    fire,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_project,
    make_routine,
)
from devstack.services import truncate_all
from shared.platform.broker import build_broker
from shared.platform.runtime import Runtime, build_runtime
from tests.conftest import settings_for
from web.app import BLUEPRINTS, create_app
from web.openapi import document

#: Examples per operation; CI keeps the default, `ROUTINES_FUZZ_EXAMPLES=500` digs deeper.
EXAMPLES = int(os.environ.get("ROUTINES_FUZZ_EXAMPLES") or 30)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    # Bodies of a megabyte and 100 000 brackets are the point, not a slow generator.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMIT = 1024 * 1024
WRITE_METHODS = {"post", "patch", "put"}


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every documented operation, read at collection time from the
    generator over the app's own blueprints; test_the_fuzzed_operations_are_the_served_ones
    checks that the served document says the same."""
    app = Flask(__name__)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    paths = document(app)["paths"]
    return sorted((method, path) for path, item in paths.items() for method in item)


OPERATIONS = _operations()


# The world every example starts from


class FuzzWorld:
    """Not a dataclass: hypothesis prints every argument of a failing example, and this
    one holds the whole OpenAPI document."""

    def __init__(
        self, client: Any, doc: dict[str, Any], ids: dict[str, list[str]], tokens: list[str]
    ) -> None:
        self.client = client
        self.doc = doc
        #: Path parameter name -> ids that exist.
        self.ids = ids
        self.tokens = tokens
        self.strategies: dict[tuple[str, str], st.SearchStrategy[Call]] = {}

    def __repr__(self) -> str:
        return f"FuzzWorld(ids={self.ids!r})"

    @property
    def every_id(self) -> list[str]:
        return sorted({i for ids in self.ids.values() for i in ids})


@pytest.fixture(scope="module")
def fuzz_runtime(pg_url: str) -> Iterator[Runtime]:
    """Like the `runtime` fixture, but once per module: hypothesis runs many examples per
    test, and a function-scoped fixture would be shared by all of them anyway."""
    # Rate limits off (0): thousands of fires a minute from one address are the point here.
    settings = settings_for(pg_url, rate_limit_per_trigger=0, rate_limit_per_client=0)
    built = build_runtime(settings, broker=build_broker(settings))
    truncate_all(built.engine)
    yield built
    built.close()


@pytest.fixture(scope="module")
def fuzz_app(fuzz_runtime: Runtime) -> Flask:
    return create_app(runtime=fuzz_runtime)


def add_trigger(api: Api, routine: dict[str, Any], **body: Any) -> dict[str, Any]:
    return dict(api.ok("POST", f"/api/routines/{routine['id']}/triggers", body))


@pytest.fixture(scope="module")
def world(fuzz_app: Flask) -> FuzzWorld:
    client = fuzz_app.test_client()
    api = Api(FlaskTransport(client))
    company = make_company(api, "Fuzz")
    agent = make_agent(api, company)
    project = make_project(api, company)
    variables = [
        {"name": "who", "defaultValue": "ops"},
        {"name": "n", "type": "number", "defaultValue": 1},
        {"name": "size", "type": "select", "options": ["s", "m"], "defaultValue": "s"},
        {"name": "dueDate", "type": "date", "required": False},
    ]
    routine = make_routine(
        api, company, agent, projectId=project["id"], title="{{who}} {{n}}", variables=variables
    )
    plain = make_routine(api, company, agent, title="Plain", concurrencyPolicy="always_enqueue")
    goal = api.ok("POST", f"/api/companies/{company['id']}/goals", {"title": "Grow"})
    issue = api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "Fix"})
    key = api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "fuzz"})
    triggers = [
        add_trigger(api, routine, kind="api"),
        add_trigger(api, routine, kind="schedule", cronExpression="*/5 * * * *"),
        *(
            add_trigger(api, plain, kind="webhook", signingMode=mode)
            for mode in ("bearer", "hmac_sha256", "github_hmac", "none")
        ),
    ]
    other = make_company(api, "Elsewhere")
    other_agent = make_agent(api, other)
    tokens = [
        key["token"],
        make_member(api, company, ["tasks:assign"]),
        make_member(api, company),
        make_agent_token(api, other_agent),
        make_member(api, other, ["tasks:assign"]),
    ]
    runs = [fire(api, routine)["id"], fire(api, plain)["id"]]
    return FuzzWorld(
        client=client,
        doc=api.ok("GET", "/api/openapi.json"),
        ids={
            "companyId": [company["id"], other["id"]],
            "agentId": [agent["id"], other_agent["id"]],
            "keyId": [key["id"]],
            "projectId": [project["id"]],
            "goalId": [goal["id"]],
            "issueId": [issue["id"]],
            "routineId": [routine["id"], plain["id"]],
            "runId": runs,
            "triggerId": [t["trigger"]["id"] for t in triggers],
            "publicId": [t["trigger"]["publicId"] for t in triggers if t["trigger"]["publicId"]],
        },
        tokens=tokens,
    )


# Strategies

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
]
CRONS = ["0 9 * * *", "*/5 * * * *", "@daily", "0 0 9 * * 1", "61 * * * *", "* * * * ?", ""]
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


def property_value(name: str, prop: dict[str, Any], world: FuzzWorld) -> st.SearchStrategy[Any]:
    """A value of roughly the right shape for one body property, sometimes not."""
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else types
    nullable = st.none() if "null" in types else st.nothing()
    if "enum" in prop:
        right: st.SearchStrategy[Any] = st.sampled_from(prop["enum"])
    elif prop.get("format") == "uuid":
        right = st.sampled_from(world.every_id) | st.uuids().map(str)
    elif name == "cronExpression":
        right = st.sampled_from(CRONS)
    elif name == "timezone":
        right = st.sampled_from(TIMEZONES)
    elif name in ("title", "description"):
        right = st.sampled_from(TITLES) | st.text(max_size=prop.get("maxLength", 60) + 2)
    elif name == "variables" and "array" in types:
        right = st.lists(VARIABLE, max_size=4)
    elif name in ("variables", "payload", "executionWorkspaceSettings"):
        right = st.dictionaries(st.sampled_from(["who", "n", "size", "variables"]), JSON)
    elif "string" in types:
        right = st.text(max_size=prop.get("maxLength", 60) + 2)
    elif "integer" in types:
        low, high = prop.get("minimum", -10), prop.get("maximum", 10)
        right = st.integers(int(low) - 2, int(high) + 2) | st.integers()
    elif "boolean" in types:
        right = st.booleans()
    elif "array" in types:
        right = st.lists(st.sampled_from(prop.get("items", {}).get("enum", ["x"])), max_size=3)
    else:
        right = JSON
    return right | right | right | nullable | JSON


def schema_objects(schema: dict[str, Any], world: FuzzWorld) -> st.SearchStrategy[Any]:
    """Objects shaped by the schema; sometimes with unknown keys or a required key missing."""
    properties = schema.get("properties", {})
    required = [n for n in schema.get("required", []) if n in properties]
    shaped = st.fixed_dictionaries(
        {n: property_value(n, properties[n], world) for n in required},
        optional={
            n: property_value(n, p, world) for n, p in properties.items() if n not in required
        },
    )
    extra = st.dictionaries(st.text(max_size=12), JSON, min_size=1, max_size=3)
    dropped = st.sampled_from(required) if required else st.none()

    def mutate(body: dict[str, Any], more: dict[str, Any] | None, drop: str | None) -> Any:
        return {**{k: v for k, v in body.items() if k != drop}, **(more or {})}

    return st.builds(mutate, shaped, st.none() | st.none() | st.none() | extra, st.none() | dropped)


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


def bodies(schema: dict[str, Any] | None, world: FuzzWorld) -> st.SearchStrategy[bytes | None]:
    names = list((schema or {}).get("properties", {}))
    shaped = schema_objects(schema, world) if schema else st.dictionaries(st.text(), JSON)
    return st.one_of(
        st.builds(encode, shaped, st.booleans()),
        st.builds(encode, shaped, st.booleans()),
        st.builds(encode, shaped, st.booleans()),
        st.builds(encode, JSON, st.booleans()),
        odd_bodies(names),
        st.none(),
    )


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


# The fuzz over every operation


def test_the_fuzzed_operations_are_the_served_ones(world: FuzzWorld) -> None:
    served = sorted((m, p) for p, item in world.doc["paths"].items() for m in item)
    assert served == OPERATIONS
    assert len(OPERATIONS) >= 40
    assert {p for _, p in OPERATIONS} >= {
        "/api/routines/{routineId}/run",
        "/api/routine-triggers/public/{publicId}/fire",
        "/api/companies/{companyId}/routines",
    }


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@FUZZ
@given(data=st.data())
def test_no_input_to_any_operation_is_a_server_error(
    world: FuzzWorld, method: str, path: str, data: st.DataObject
) -> None:
    call = data.draw(calls(method, path, world))
    assert_clean_answer(call, send(world, call))


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"])
def test_a_method_a_route_does_not_have_is_a_json_error(world: FuzzWorld, method: str) -> None:
    served = {(m.upper(), p) for m, p in OPERATIONS}
    for _, path in OPERATIONS:
        if (method, path) in served:
            continue
        url = path.replace("{", "").replace("}", "")
        response = world.client.open(url, method=method, headers={"Authorization": "Bearer x"})
        assert (response.status_code, response.get_json()) == (
            405,
            {"error": "Method not allowed"},
        ), (method, url)


@pytest.mark.parametrize(
    "path", ["/api", "/api/", "/api/nothing", "/api/routines", "/api/routines/x/y/z", "/api/%ff"]
)
def test_an_unknown_api_route_is_a_json_404(world: FuzzWorld, path: str) -> None:
    response = world.client.get(path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert (response.status_code, response.get_json()) == (404, {"error": "API route not found"})


@pytest.mark.parametrize("value", ["%00", "routine_execution%00", "a%00b"])
def test_a_nul_in_a_query_filter_is_not_a_server_error(world: FuzzWorld, value: str) -> None:
    """PostgreSQL refuses NUL in text; found by this fuzz on `originKind`."""
    company = world.ids["companyId"][0]
    for key in ("originKind", "status", "originId", "assigneeAgentId"):
        response = world.client.get(
            f"/api/companies/{company}/issues?{key}={value}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert response.status_code in (200, 400), key
        assert response.status_code == 200 or isinstance(response.get_json()["error"], str)


@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("GET", "/api/routines//{routine}"),
        ("GET", "/api/routines/{routine}//runs"),
        ("POST", "/api/routines/{routine}//run"),
        ("POST", "/api/routine-triggers/public/abc%2F/fire"),
    ],
)
def test_an_empty_path_segment_is_a_json_404_not_a_redirect(
    world: FuzzWorld, method: str, template: str
) -> None:
    url = template.format(routine=world.ids["routineId"][0])
    response = world.client.open(
        url, method=method, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json={}
    )
    assert (response.status_code, response.get_json(silent=True)) == (
        404,
        {"error": "API route not found"},
    )


# The public webhook fire


@pytest.mark.parametrize("public_id", ["%00", "abc%00def", "0123456789abcdef01234%0067"])
def test_a_nul_in_a_public_id_is_404_not_a_server_error(world: FuzzWorld, public_id: str) -> None:
    """Found by this fuzz: the unauthenticated fire looked the NUL up in PostgreSQL."""
    response = world.client.post(fire_url(public_id), data=b"{}")
    assert response.status_code == 404
    assert isinstance(response.get_json()["error"], str)


@dataclass
class Hooks:
    #: signing mode -> (public id, secret), on an active routine without variables.
    signed: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def hooks(world: FuzzWorld) -> Hooks:
    """Triggers of their own, so the operation fuzz never pauses or deletes them."""
    api = Api(FlaskTransport(world.client))
    company = make_company(api, "Hooks")
    routine = make_routine(api, company, make_agent(api, company), title="Hook")
    signed = {}
    for mode in ("bearer", "hmac_sha256", "github_hmac"):
        created = add_trigger(api, routine, kind="webhook", signingMode=mode, replayWindowSec=300)
        signed[mode] = (created["trigger"]["publicId"], created["secretMaterial"]["webhookSecret"])
    return Hooks(signed)


def fire_url(public_id: str) -> str:
    return f"/api/routine-triggers/public/{public_id}/fire"


def hex_digest(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


HEX64 = st.text("0123456789abcdefABCDEF", min_size=64, max_size=64)
SIGNATURES = st.one_of(
    HEX64,
    HEX64.map(lambda h: "sha256=" + h),
    HEX64.map(lambda h: "SHA256=" + h),
    st.text("0123456789abcdef", max_size=70).map(lambda h: "sha256=" + h),
    st.sampled_from(["", "sha256=", "sha1=abc", "sha256=" + "z" * 64, "=" * 80]),
    HEADER_TEXT,
)
TIMESTAMPS = st.one_of(
    st.builds(lambda: str(int(time.time()))),
    st.builds(lambda: str(int(time.time() * 1000))),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "-5", "1" * 40, "1e9", "0x10", " 1700000000 ", "\u0661\u0662"]),
    HEADER_TEXT,
)
BEARERS = st.one_of(
    st.text("0123456789abcdef", min_size=48, max_size=48).map(lambda h: "Bearer " + h),
    HEADER_TEXT.map(lambda s: "Bearer " + s),
    HEADER_TEXT,
    st.sampled_from(["Bearer", "Basic Zm9vOmJhcg==", f"Bearer {ADMIN_TOKEN}"]),
)
WEBHOOK_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": BEARERS,
        "X-Paperclip-Timestamp": TIMESTAMPS,
        "X-Paperclip-Signature": SIGNATURES,
        "X-Hub-Signature-256": SIGNATURES,
        "X-GitHub-Delivery": HEADER_TEXT,
        "Idempotency-Key": HEADER_TEXT,
        "Content-Type": CONTENT_TYPES.filter(lambda c: c is not None),
    },
)
WEBHOOK_BODIES = st.one_of(
    st.binary(max_size=300),
    st.builds(encode, JSON, st.booleans()),
    st.builds(encode, st.dictionaries(st.text(max_size=10), JSON, max_size=5), st.booleans()),
    odd_bodies(["who", "variables", "event"]),
    st.sampled_from([LIMIT + 1, 3 * LIMIT]).map(lambda n: b'{"x": "' + b"a" * n + b'"}'),
)


@FUZZ
@given(
    mode=st.sampled_from(["bearer", "hmac_sha256", "github_hmac"]),
    headers=WEBHOOK_HEADERS,
    body=WEBHOOK_BODIES,
)
def test_random_requests_to_a_signed_webhook_are_refused_without_a_server_error(
    world: FuzzWorld, hooks: Hooks, mode: str, headers: dict[str, str], body: bytes
) -> None:
    public_id, _secret = hooks.signed[mode]
    call = Call("POST", fire_url(public_id), headers, body)
    response = send(world, call)
    assert_clean_answer(call, response)
    expected = 413 if len(body) > LIMIT else 401
    assert response.status_code == expected, call.describe()
    if expected == 401:
        assert response.get_json() == {"error": "Unauthorized"}


@FUZZ
@given(
    public_id=st.one_of(
        st.text("0123456789abcdef", min_size=24, max_size=24),
        # A "/" would make an empty path segment: see test_an_empty_path_segment_...
        # Lone surrogates have no UTF-8 form to send (PATH_JUNK sends their bytes).
        st.text(
            st.characters(exclude_characters="/", exclude_categories=("Cs",)),
            min_size=1,
            max_size=40,
        ).map(lambda s: quote(s, safe="")),
        st.sampled_from(PATH_JUNK),
    ),
    headers=WEBHOOK_HEADERS,
    body=WEBHOOK_BODIES,
)
def test_an_unknown_public_id_is_404_whatever_is_sent(
    world: FuzzWorld, public_id: str, headers: dict[str, str], body: bytes
) -> None:
    assume(all(public_id != p for p in world.ids["publicId"]))
    call = Call("POST", fire_url(public_id), headers, body)
    response = send(world, call)
    assert_clean_answer(call, response)
    assert response.status_code in (404, 413), call.describe()


def storable_object(body: bytes) -> bool:
    """Independently of the app: a JSON object PostgreSQL's JSONB can hold, at most 64 deep."""

    def refuse(_: str) -> Any:
        raise ValueError

    def fine(value: Any, depth: int) -> bool:
        if depth > 64:
            return False
        if isinstance(value, str):
            return "\x00" not in value and not re.search("[\ud800-\udfff]", value)
        if isinstance(value, float):
            return value not in (float("inf"), float("-inf"))
        if isinstance(value, dict):
            return all(fine(k, depth + 1) and fine(v, depth + 1) for k, v in value.items())
        if isinstance(value, list):
            return all(fine(item, depth + 1) for item in value)
        return True

    try:
        parsed = json.loads(body, parse_constant=refuse)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and fine(parsed, 0)


@FUZZ
@given(body=WEBHOOK_BODIES, delivery=st.none() | HEADER_TEXT)
def test_a_correctly_signed_webhook_is_accepted_exactly_when_its_body_is_an_object(
    world: FuzzWorld, hooks: Hooks, body: bytes, delivery: str | None
) -> None:
    public_id, secret = hooks.signed["github_hmac"]
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hex_digest(secret, body),
    }
    if delivery is not None:
        headers["X-GitHub-Delivery"] = delivery
    call = Call("POST", fire_url(public_id), headers, body)
    response = send(world, call)
    assert_clean_answer(call, response)
    if len(body) > LIMIT:
        assert response.status_code == 413, call.describe()
    elif not body.strip():
        assert response.status_code == 202, call.describe()
    elif storable_object(body):
        assert response.status_code == 202, call.describe()
        assert response.get_json()["triggerPayload"] == json.loads(body)
    else:
        assert response.status_code == 400, call.describe()


@FUZZ
@given(body=st.dictionaries(st.text("abcxyz", max_size=8), st.integers()).map(encode_plain))
def test_a_fresh_timestamped_signature_is_accepted_once_then_a_replay(
    world: FuzzWorld, hooks: Hooks, body: bytes
) -> None:
    public_id, secret = hooks.signed["hmac_sha256"]
    stamp = str(int(time.time()))
    signature = hex_digest(secret, stamp.encode() + b"." + body)
    headers = {"X-Paperclip-Timestamp": stamp, "X-Paperclip-Signature": signature}
    first = send(world, Call("POST", fire_url(public_id), headers, body))
    again = send(world, Call("POST", fire_url(public_id), headers, body))
    # The same body may come up twice within a second: then even the first is a replay.
    assert first.status_code in (202, 409)
    assert (again.status_code, again.get_json()) == (409, {"error": "Webhook replay detected"})
