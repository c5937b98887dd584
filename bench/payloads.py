"""The requests a benchmark sends, prepared before the load starts: validly signed
webhook fires and manual runs, each with a distinct body."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.fixtures import Target

#: (method, path, body, headers)
Request = tuple[str, str, bytes, dict[str, str]]


def _body(seq: int, kind: str) -> bytes:
    document = {
        "event": f"bench.{kind}",
        "seq": seq,
        "nonce": secrets.token_hex(8),
        "sentAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "data": {"repository": "acme/widgets", "ref": "refs/heads/main", "size": seq % 97},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def signed_webhooks(targets: Sequence[Target], count: int, start: int = 0) -> list[Request]:
    """`count` distinct, validly signed webhook fires, spread round-robin over targets."""
    timestamp = str(int(time.time()))
    out: list[Request] = []
    for seq in range(start, start + count):
        target = targets[seq % len(targets)]
        body = _body(seq, "webhook")
        digest = hmac.new(
            target.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Paperclip-Timestamp": timestamp,
            "X-Paperclip-Signature": f"sha256={digest}",
        }
        out.append(("POST", target.path, body, headers))
    return out


def manual_runs(
    routine_ids: Sequence[str], token: str, count: int, start: int = 0
) -> list[Request]:
    out: list[Request] = []
    for seq in range(start, start + count):
        routine_id = routine_ids[seq % len(routine_ids)]
        body = json.dumps(
            {"source": "manual", "payload": {"seq": seq, "nonce": secrets.token_hex(8)}},
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        out.append(("POST", f"/api/routines/{routine_id}/run", body, headers))
    return out
