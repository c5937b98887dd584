"""Bearer tokens: generated with a prefix that says what they are, stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

AGENT_KEY_PREFIX = "rta_"
BOARD_TOKEN_PREFIX = "rtb_"  # noqa: S105 (a prefix, not a secret)


def new_token(prefix: str) -> str:
    return prefix + secrets.token_hex(24)


def hash_token(token: str) -> str:
    """SHA-256 is enough: tokens are 192 random bits, so no slow hash is needed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_secret(a: str | bytes, b: str | bytes) -> bool:
    a_bytes = a.encode("utf-8") if isinstance(a, str) else a
    b_bytes = b.encode("utf-8") if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)
