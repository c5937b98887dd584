"""The public webhook fire (API.md 5.3): no credentials, only the trigger's signature."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from shared.contract import jsontext
from shared.contract.errors import (
    Conflict,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
    UnsupportedMediaType,
)
from shared.platform.db import single_statements
from shared.platform.metrics import SIGNATURE_FAILURES
from shared.platform.secrets_box import CannotOpen, SecretBox
from shared.routines.variables import firing_layers, resolve
from shared.runs.reading import RunSummary, summarize_runs
from shared.runs.recording import RunRequest, insert_run, run_holding, run_values
from shared.webhooks.hooks import Hook, HookCache, KnownHook, read_hook
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
class Recorded:
    """A new run, as inserted (its columns) for its trigger: nothing read back."""

    values: dict[str, Any]
    hook: Hook


@dataclass(frozen=True)
class Repeated:
    """The run a repeated idempotency key already holds, read back with its linked issue."""

    summary: RunSummary


Accepted = Recorded | Repeated


def fire_webhook(
    engine: Engine,
    *,
    public_id: str,
    headers: Mapping[str, str],  # names in lower case
    body: bytes,
    content_type: str,
    box: SecretBox,
    budget: FireBudget,
    now: datetime,
    hooks: HookCache | None = None,
) -> Accepted:
    """Checks in the contract's order: unknown id, signature, replay, state, body.

    `engine` commits each statement on its own (shared.platform.db.single_statements).
    A delivery to a trigger this process knows (`hooks`, shared.webhooks.hooks) is one
    statement, often shared with other deliveries: the insert, which checks that what
    the process knows is still current. Otherwise, or when that insert finds anything
    changed, the look-up and the insert are the two round trips of an accepted fire.

    Every request spends its client's budget first (so a flood is refused before any
    database work); only a delivery whose signature verified spends the trigger's, so
    strangers who know a URL can never use up its real sender's budget. A replay is
    found when the run is inserted (its signature's hash is unique per trigger), so a
    delivery refused for any reason was never "seen" and its retry is accepted."""
    budget.spend_client()
    if not PUBLIC_ID.fullmatch(public_id):
        raise NotFound(NOT_FOUND)
    delivery = _Delivery(headers, body, content_type, now)
    known = hooks.get(public_id) if hooks is not None else None
    spent = False
    if hooks is not None and known is not None:
        accepted, spent = _fire_known(engine, hooks, known, delivery, budget, public_id)
        if accepted is not None:
            return accepted
    with single_statements(engine) as connection:
        return _fire_looked_up(connection, public_id, delivery, box, budget, hooks, spent)


def _fire_looked_up(
    connection: Connection,
    public_id: str,
    delivery: _Delivery,
    box: SecretBox,
    budget: FireBudget,
    hooks: HookCache | None,
    spent: bool,
) -> Accepted:
    hook = read_hook(connection, public_id)
    if hook is None:
        if hooks is not None:
            hooks.forget(public_id)
        raise NotFound(NOT_FOUND)
    known = _open(box, hook, delivery.now)
    if hooks is not None:
        hooks.put(public_id, known)
    verified = _verify(hook, _secrets(known, delivery.now), delivery)
    if not spent:
        budget.spend_trigger(public_id)
    if not hook.enabled or hook.routine_status != "active":
        raise Conflict(NOT_ACTIVE)
    values = _run_values(hook, delivery, verified)
    if insert_run(connection, values):
        return Recorded(values, hook)
    with Session(bind=connection) as session:
        holder = run_holding(session, values)
        return Repeated(summarize_runs(session, [holder])[0])


@dataclass(frozen=True)
class _Delivery:
    headers: Mapping[str, str]
    body: bytes
    content_type: str
    now: datetime


def _fire_known(
    engine: Engine,
    hooks: HookCache,
    known: KnownHook,
    delivery: _Delivery,
    budget: FireBudget,
    public_id: str,
) -> tuple[Accepted | None, bool]:
    """The one-statement fire from what this process knows of the trigger; None (and
    whether the trigger's budget was spent) when anything needs a fresh look-up."""
    hook = known.hook
    if not hook.enabled or hook.routine_status != "active":
        return None, False
    try:
        verified = _verify_quietly(hook, _secrets(known, delivery.now), delivery)
    except Unauthorized:
        return None, False
    budget.spend_trigger(public_id)
    try:
        values = _run_values(hook, delivery, verified)
    except (Invalid, Unprocessable, UnsupportedMediaType):
        # The state comes before the body, and the variables may be stale: refusing
        # needs a fresh look.
        return None, True
    if hooks.insert(engine, hook, values):
        return Recorded(values, hook), True
    return None, True


def _run_values(hook: Hook, delivery: _Delivery, verified: Verified) -> dict[str, Any]:
    payload = _json_object(delivery.body, delivery.content_type)
    layers = firing_layers(request=None, payload=payload, webhook_body=payload)
    request = RunRequest(
        source="webhook",
        trigger_id=hook.trigger_id,
        payload=payload,
        variables=resolve(hook.variables or [], layers),
        idempotency_key=_idempotency_key(hook, delivery.headers),
        signature_hash=_hash(verified.replay_key),
    )
    return run_values(
        request, company_id=hook.company_id, routine_id=hook.routine_id, now=delivery.now
    )


def _verify(hook: Hook, secrets: list[str], delivery: _Delivery) -> Verified:
    try:
        return _verify_quietly(hook, secrets, delivery)
    except Unauthorized:
        SIGNATURE_FAILURES.labels(hook.signing_mode or "bearer").inc()
        raise


def _verify_quietly(hook: Hook, secrets: list[str], delivery: _Delivery) -> Verified:
    """The current secret, then the previous one while its grace lasts: either verifies."""
    mode = hook.signing_mode or "bearer"
    for secret in secrets:
        try:
            return verify(
                mode=mode,
                secret=secret,
                headers=delivery.headers,
                body=delivery.body,
                now=delivery.now,
                window_seconds=hook.replay_window_sec or 300,
            )
        except Unauthorized:
            continue
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


def _idempotency_key(hook: Hook, headers: Mapping[str, str]) -> str | None:
    """In Standard Webhooks mode the signed `webhook-id` is the key, whatever else is sent:
    a captured delivery sent again with another key still finds the first run."""
    if hook.signing_mode == "standard_webhooks":
        return (headers.get("webhook-id") or "").strip()[:255] or None
    key = (headers.get("idempotency-key") or "").strip()
    if not key and hook.signing_mode == "github_hmac":
        key = (headers.get("x-github-delivery") or "").strip()
    return key[:255] or None


def _secrets(known: KnownHook, now: datetime) -> list[str]:
    """The secrets a delivery may be signed with: the current one, and the previous one
    until its grace ends (`now` is the injected clock's)."""
    expires = known.hook.previous_expires_at
    if known.previous_secret is None or expires is None or now >= expires:
        return [known.secret]
    return [known.secret, known.previous_secret]


def _open(box: SecretBox, hook: Hook, now: datetime) -> KnownHook:
    """A secret no configured key opens is the operator's doing (a key dropped from
    ROUTINES_SECRET_KEY too soon), not the sender's: 503, never a 500. A previous secret
    no key opens only loses its grace: the current secret still verifies."""
    try:
        secret = box.open(hook.ciphertext)
    except CannotOpen:
        log.warning(
            "webhook secret cannot be decrypted", extra={"trigger_id": str(hook.trigger_id)}
        )
        raise Unavailable(KEY_MISSING) from None
    previous = None
    expires = hook.previous_expires_at
    if hook.previous_ciphertext is not None and expires is not None and now < expires:
        try:
            previous = box.open(hook.previous_ciphertext)
        except CannotOpen:
            log.warning(
                "previous webhook secret cannot be decrypted",
                extra={"trigger_id": str(hook.trigger_id)},
            )
    return KnownHook(hook, secret, previous)
