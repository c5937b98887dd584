"""The public webhook fire (API.md 5.3): no credentials, only the trigger's signature."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session, aliased

from shared.contract import jsontext
from shared.contract.errors import (
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from shared.models import Routine, RoutineRun, RoutineTrigger, Secret
from shared.platform.metrics import SIGNATURE_FAILURES
from shared.platform.prepared import Prepared
from shared.platform.secrets_box import CannotOpen, SecretBox
from shared.routines.variables import firing_layers, resolve
from shared.runs.reading import RunSummary, summarize_runs
from shared.runs.recording import RunRequest, insert_run, run_holding, run_values
from shared.webhooks.ratelimit import FireBudget
from shared.webhooks.signing import Verified, verify

NOT_FOUND = "Routine trigger not found"
PUBLIC_ID = re.compile(r"[0-9a-f]{24}")
NOT_ACTIVE = "Routine trigger is not active"
KEY_MISSING = (
    "Webhook secret cannot be decrypted: "
    "ROUTINES_SECRET_KEY does not hold the key it was sealed with"
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """The run a delivery recorded (or the one its idempotency key already holds), shaped
    as `GET /api/routine-runs/{id}` shows it."""

    summary: RunSummary
    created: bool


@dataclass(frozen=True)
class _Hook:
    """What a delivery needs of its trigger, secret and routine: plain columns read by
    one statement, no ORM objects built on the hot path."""

    trigger_id: uuid.UUID
    company_id: uuid.UUID
    routine_id: uuid.UUID
    kind: str
    label: str | None
    enabled: bool
    signing_mode: str | None
    replay_window_sec: int | None
    ciphertext: str
    routine_status: str
    variables: list[Any] | None
    #: The secret a rotation with a grace replaced, and when it stops verifying.
    previous_ciphertext: str | None
    previous_expires_at: datetime | None


_Previous = aliased(Secret, name="previous_secret")
#: The look-up: the trigger, its secret and its routine in one round trip, planned once
#: per connection (shared.platform.prepared); a fire only binds `public_id`.
_LOOKUP = Prepared(
    "routines_webhook_lookup",
    select(
        RoutineTrigger.id.label("trigger_id"),
        RoutineTrigger.company_id,
        RoutineTrigger.routine_id,
        RoutineTrigger.kind,
        RoutineTrigger.label,
        RoutineTrigger.enabled,
        RoutineTrigger.signing_mode,
        RoutineTrigger.replay_window_sec,
        Secret.ciphertext,
        Routine.status.label("routine_status"),
        Routine.variables,
        _Previous.ciphertext.label("previous_ciphertext"),
        RoutineTrigger.previous_secret_expires_at,
    )
    .join(Secret, Secret.id == RoutineTrigger.secret_id)
    .join(Routine, Routine.id == RoutineTrigger.routine_id)
    .outerjoin(_Previous, _Previous.id == RoutineTrigger.previous_secret_id)
    .where(RoutineTrigger.public_id == bindparam("public_id"), RoutineTrigger.kind == "webhook"),
)


def fire_webhook(
    connection: Connection,
    *,
    public_id: str,
    headers: Mapping[str, str],  # names in lower case
    body: bytes,
    content_type: str,
    box: SecretBox,
    budget: FireBudget,
    now: datetime,
) -> Accepted:
    """Checks in the contract's order: unknown id, signature, replay, state, body.

    `connection` commits each statement on its own (shared.platform.db.single_statements): the
    look-up and the run's insert are the two round trips of an accepted fire, and the
    insert, a single statement, is its own transaction.

    Every request spends its client's budget first (so a flood is refused before any
    database work); only a delivery whose signature verified spends the trigger's, so
    strangers who know a URL can never use up its real sender's budget. A replay is
    found when the run is inserted (its signature's hash is unique per trigger), so a
    delivery refused for any reason was never "seen" and its retry is accepted."""
    budget.spend_client()
    if not PUBLIC_ID.fullmatch(public_id):
        raise NotFound(NOT_FOUND)
    row = _LOOKUP.execute(connection, {"public_id": public_id}).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    hook = _Hook(*cast(tuple[Any, ...], row))
    verified = _verify(hook, _secrets(box, hook, now), headers, body, now)
    budget.spend_trigger(public_id)
    if not hook.enabled or hook.routine_status != "active":
        raise Conflict(NOT_ACTIVE)
    payload = _json_object(body, content_type)
    layers = firing_layers(request=None, payload=payload, webhook_body=payload)
    request = RunRequest(
        source="webhook",
        trigger_id=hook.trigger_id,
        payload=payload,
        variables=resolve(hook.variables or [], layers),
        idempotency_key=_idempotency_key(hook, headers),
        signature_hash=_hash(verified.replay_key),
    )
    values = run_values(request, company_id=hook.company_id, routine_id=hook.routine_id, now=now)
    if insert_run(connection, values):
        # Built from what was inserted: no second round trip to read it back.
        trigger = RoutineTrigger(id=hook.trigger_id, kind=hook.kind, label=hook.label)
        return Accepted(RunSummary(RoutineRun(**values), linked_issue=None, trigger=trigger), True)
    with Session(bind=connection) as session:
        holder = run_holding(session, values)
        return Accepted(summarize_runs(session, [holder])[0], False)


def _verify(
    hook: _Hook, secrets: list[str], headers: Mapping[str, str], body: bytes, now: datetime
) -> Verified:
    """The current secret, then the previous one while its grace lasts: either verifies."""
    mode = hook.signing_mode or "bearer"
    for secret in secrets:
        try:
            return verify(
                mode=mode,
                secret=secret,
                headers=headers,
                body=body,
                now=now,
                window_seconds=hook.replay_window_sec or 300,
            )
        except Unauthorized:
            continue
    SIGNATURE_FAILURES.labels(mode).inc()
    raise Unauthorized("Unauthorized")


def _hash(replay_key: str | None) -> str | None:
    return hashlib.sha256(replay_key.encode("utf-8")).hexdigest() if replay_key else None


def _json_object(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    if not body.strip():
        return {}
    parsed = jsontext.parse(body)
    if not isinstance(parsed, dict):
        raise Invalid("Request body must be a JSON object")
    return parsed


def _idempotency_key(hook: _Hook, headers: Mapping[str, str]) -> str | None:
    """In Standard Webhooks mode the signed `webhook-id` is the key, whatever else is sent:
    a captured delivery sent again with another key still finds the first run."""
    if hook.signing_mode == "standard_webhooks":
        return (headers.get("webhook-id") or "").strip()[:255] or None
    key = (headers.get("idempotency-key") or "").strip()
    if not key and hook.signing_mode == "github_hmac":
        key = (headers.get("x-github-delivery") or "").strip()
    return key[:255] or None


def _secrets(box: SecretBox, hook: _Hook, now: datetime) -> list[str]:
    """The secrets a delivery may be signed with: the current one, and the previous one
    until its grace ends (`now` is the injected clock's)."""
    current = [_open_secret(box, hook)]
    expires = hook.previous_expires_at
    if hook.previous_ciphertext is None or expires is None or now >= expires:
        return current
    try:
        return [*current, box.open(hook.previous_ciphertext)]
    except CannotOpen:  # the current secret still verifies; only the grace is lost
        log.warning(
            "previous webhook secret cannot be decrypted",
            extra={"trigger_id": str(hook.trigger_id)},
        )
        return current


def _open_secret(box: SecretBox, hook: _Hook) -> str:
    """A secret no configured key opens is the operator's doing (a key dropped from
    ROUTINES_SECRET_KEY too soon), not the sender's: 503, never a 500."""
    try:
        return box.open(hook.ciphertext)
    except CannotOpen:
        log.warning(
            "webhook secret cannot be decrypted", extra={"trigger_id": str(hook.trigger_id)}
        )
        raise Unavailable(KEY_MISSING) from None
