"""Hypothesis fuzz over the public webhook fire: random requests are refused without a
server error, a correct signature is accepted exactly when the body is an object, and a
replay is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from devstack.api import (
    ADMIN_TOKEN,
    Api,
    FlaskTransport,
    make_agent,
    make_company,
    make_routine,
)
from tests.support.fuzz_bodies import HEADER_TEXT, JSON, PATH_JUNK, encode, encode_plain, odd_bodies
from tests.support.fuzz_requests import CONTENT_TYPES, Call, assert_clean_answer, send
from tests.support.fuzz_world import FUZZ, LIMIT, FuzzWorld, add_trigger


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
    for mode in SIGNED_MODES:
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
SIGNED_MODES = ["bearer", "hmac_sha256", "github_hmac", "standard_webhooks"]
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
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
#: Standard Webhooks signature lists: `v1,<base64>` entries (random, so never valid) or junk.
STANDARD_SIGNATURES = st.one_of(
    HEADER_TEXT,
    st.lists(
        st.builds("{},{}".format, st.sampled_from(["v1", "v2", ""]), st.text(BASE64, max_size=60)),
        max_size=4,
    ).map(" ".join),
)
WEBHOOK_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": BEARERS,
        "X-Paperclip-Timestamp": TIMESTAMPS,
        "X-Paperclip-Signature": SIGNATURES,
        "X-Hub-Signature-256": SIGNATURES,
        "X-GitHub-Delivery": HEADER_TEXT,
        "webhook-id": HEADER_TEXT,
        "webhook-timestamp": TIMESTAMPS,
        "webhook-signature": STANDARD_SIGNATURES,
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
    mode=st.sampled_from(SIGNED_MODES),
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
