"""Webhook signature checks (API.md 5.3), over the raw body bytes, in constant time.

Every failure is the same 401 "Unauthorized", whatever was wrong, so a caller
learns nothing about which part of a forged request was off. Header names are
looked up in lower case: callers pass headers with lower-cased names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shared.contract.errors import Unauthorized
from shared.tenancy.tokens import same_secret

_HEX_SIGNATURE = re.compile(r"(?:sha256=)?([0-9a-fA-F]{64})")
_TIMESTAMP = re.compile(r"\d{1,16}")
_STANDARD_TIMESTAMP = re.compile(r"[0-9]{1,12}")
#: The prefix Standard Webhooks secrets are shown with; the rest is base64.
STANDARD_PREFIX = "whsec_"
#: Timestamps above this are milliseconds (API.md 5.3).
MILLISECONDS_ABOVE = 1_000_000_000_000


@dataclass(frozen=True)
class Verified:
    #: For timestamped HMACs: the signature to remember until the window closes.
    replay_key: str | None = None


def verify(
    *,
    mode: str,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    window_seconds: int,
) -> Verified:
    if mode == "none":
        return Verified()
    if mode == "bearer":
        return _bearer(secret, headers)
    if mode == "hmac_sha256":
        return _timestamped_hmac(secret, headers, body, now, window_seconds)
    if mode == "github_hmac":
        return _github_hmac(secret, headers, body)
    if mode == "standard_webhooks":
        return _standard_webhooks(secret, headers, body, now, window_seconds)
    raise Unauthorized("Unauthorized")


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _bearer(secret: str, headers: Mapping[str, str]) -> Verified:
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not same_secret(token.strip(), secret):
        raise Unauthorized("Unauthorized")
    return Verified()


def _timestamped_hmac(
    secret: str, headers: Mapping[str, str], body: bytes, now: datetime, window: int
) -> Verified:
    raw_timestamp = (headers.get("x-paperclip-timestamp") or "").strip()
    signature = _signature(headers, "x-paperclip-signature", "x-hub-signature-256")
    if not _TIMESTAMP.fullmatch(raw_timestamp):
        raise Unauthorized("Unauthorized")
    seconds = int(raw_timestamp)
    if seconds > MILLISECONDS_ABOVE:
        seconds //= 1000
    if abs(now.timestamp() - seconds) > window:
        raise Unauthorized("Unauthorized")
    expected = sign(secret, raw_timestamp.encode("ascii") + b"." + body)
    if not same_secret(expected, signature):
        raise Unauthorized("Unauthorized")
    return Verified(replay_key=signature)


def _github_hmac(secret: str, headers: Mapping[str, str], body: bytes) -> Verified:
    signature = _signature(headers, "x-hub-signature-256", "x-paperclip-signature")
    if not same_secret(sign(secret, body), signature):
        raise Unauthorized("Unauthorized")
    return Verified()


def _standard_webhooks(
    secret: str, headers: Mapping[str, str], body: bytes, now: datetime, window: int
) -> Verified:
    """Standard Webhooks: HMAC-SHA256 over `{id}.{timestamp}.{body}` keyed with the
    base64-decoded secret; `webhook-signature` lists `v1,<base64>` entries, any of which
    may match (a sender mid-rotation signs with both of its secrets)."""
    message_id = (headers.get("webhook-id") or "").strip()
    raw_timestamp = (headers.get("webhook-timestamp") or "").strip()
    if not message_id or not _STANDARD_TIMESTAMP.fullmatch(raw_timestamp):
        raise Unauthorized("Unauthorized")
    if abs(now.timestamp() - int(raw_timestamp)) > window:
        raise Unauthorized("Unauthorized")
    signed = f"{message_id}.{raw_timestamp}.".encode() + body
    key = standard_key(secret)
    if not key:
        raise Unauthorized("Unauthorized")
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    matched = False
    for entry in (headers.get("webhook-signature") or "").split():
        version, _, encoded = entry.partition(",")
        if version == "v1":
            matched |= hmac.compare_digest(expected, _base64(encoded))
    if not matched:
        raise Unauthorized("Unauthorized")
    return Verified()


def standard_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret, decoded as the official libraries do:
    `whsec_` dropped, the rest base64 (a secret made for another mode decodes too)."""
    return _base64(secret.removeprefix(STANDARD_PREFIX))


def _base64(text: str) -> bytes:
    """Lenient like the official libraries (missing padding added); garbage is no key."""
    try:
        return base64.b64decode(text + "==")
    except (binascii.Error, ValueError):
        return b""


def _signature(headers: Mapping[str, str], *names: str) -> str:
    """The lower-case hex digest from the first header present; malformed is a 401."""
    raw = next((headers[name] for name in names if headers.get(name)), "")
    match = _HEX_SIGNATURE.fullmatch(raw.strip())
    if match is None:
        raise Unauthorized("Unauthorized")
    return match.group(1).lower()
