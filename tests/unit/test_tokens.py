"""Bearer tokens: prefixed when made, stored only as hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import re

from shared.tenancy.tokens import (
    AGENT_KEY_PREFIX,
    BOARD_TOKEN_PREFIX,
    hash_token,
    new_token,
    same_secret,
)


def test_agent_and_board_tokens_have_distinct_prefixes() -> None:
    assert AGENT_KEY_PREFIX == "rta_"
    assert BOARD_TOKEN_PREFIX == "rtb_"


def test_a_new_token_starts_with_its_prefix_and_carries_192_random_bits() -> None:
    token = new_token(AGENT_KEY_PREFIX)
    assert token.startswith("rta_")
    assert re.fullmatch(r"[0-9a-f]{48}", token[len("rta_") :])


def test_two_new_tokens_differ() -> None:
    assert new_token(BOARD_TOKEN_PREFIX) != new_token(BOARD_TOKEN_PREFIX)


def test_the_hash_is_the_sha256_hex_digest() -> None:
    token = "rta_" + "ab" * 24
    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", hash_token(token))


def test_the_hash_never_equals_the_token() -> None:
    for token in (new_token(AGENT_KEY_PREFIX), new_token(BOARD_TOKEN_PREFIX), "", "x"):
        assert hash_token(token) != token


def test_the_hash_is_stable_and_distinguishes_tokens() -> None:
    assert hash_token("rtb_one") == hash_token("rtb_one")
    assert hash_token("rtb_one") != hash_token("rtb_two")


def test_same_secret_compares_strings_and_bytes_alike() -> None:
    assert same_secret("s3cret", "s3cret")
    assert same_secret(b"s3cret", "s3cret")
    assert same_secret("s3cret", b"s3cret")
    assert not same_secret("s3cret", "s3creT")
    assert not same_secret("s3cret", "s3cret ")
    assert not same_secret("", "x")


def test_same_secret_handles_non_ascii_text() -> None:
    assert same_secret("clé", "clé".encode())
    assert not same_secret("clé", "cle")
