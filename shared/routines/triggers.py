"""Triggers: how a routine is fired (schedule, webhook, explicit API call)."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shared.activity.record import record_change, tracked
from shared.contract.bodies import SecretRotate, TriggerCreate, TriggerPatch
from shared.contract.errors import Invalid, Unprocessable
from shared.models import Routine, RoutineTrigger, Secret
from shared.platform.secrets_box import SecretBox
from shared.routines.service import ROUTINE_NOT_FOUND, check_schedulable
from shared.schedules.cron_parse import parse_cron, validate_timezone
from shared.schedules.cron_walk import next_fire_after
from shared.tenancy.access import may_manage_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible
from shared.webhooks.signing import STANDARD_PREFIX

TRIGGER_NOT_FOUND = "Routine trigger not found"
#: Random bytes in a Standard Webhooks secret (the specification asks for 24 to 64).
STANDARD_SECRET_BYTES = 32


@dataclass(frozen=True)
class SecretMaterial:
    webhook_url: str
    webhook_secret: str


@dataclass(frozen=True)
class TriggerWithSecret:
    trigger: RoutineTrigger
    #: Shown once, at create and rotate; never stored in clear.
    secret: SecretMaterial | None


def create_trigger(
    session: Session,
    principal: Principal,
    *,
    routine_id: str,
    command: TriggerCreate,
    box: SecretBox | None,
    public_url: str,
    now: datetime,
) -> TriggerWithSecret:
    _require_kind_fields(command)
    routine = load_visible(session, principal, Routine, routine_id, ROUTINE_NOT_FOUND)
    may_manage_routine(principal, routine, assigns=True)
    kind = command.kind
    trigger = RoutineTrigger(
        company_id=routine.company_id,
        routine_id=routine.id,
        kind=kind,
        label=command.label,
        enabled=command.enabled,
        created_by_agent_id=principal.agent_id,
        created_by_user_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    material = None
    if kind == "schedule":
        assert command.cron_expression is not None  # see _require_kind_fields
        _set_schedule(trigger, routine, command.cron_expression, command.timezone, now)
    elif kind == "webhook":
        assert box is not None
        trigger.signing_mode = command.signing_mode
        trigger.replay_window_sec = command.replay_window_sec
        trigger.public_id = secrets.token_hex(12)
        material = _new_secret(session, trigger, box, public_url, now)
    session.add(trigger)
    session.flush()
    record_change(session, actor=principal, verb="created", row=trigger, before=None, now=now)
    return TriggerWithSecret(trigger, material)


def _require_kind_fields(command: TriggerCreate) -> None:
    """A field a kind cannot do without is missing like `kind` itself would be: a 400
    naming it, before anything is looked up."""
    if command.kind == "schedule" and command.cron_expression is None:
        problem = {"path": ["cronExpression"], "message": "Required"}
        raise Invalid("Validation error", details=[problem])


def update_trigger(
    session: Session,
    principal: Principal,
    *,
    trigger_id: str,
    command: TriggerPatch,
    raw_kind: object,
    now: datetime,
) -> RoutineTrigger:
    """`raw_kind` is the body's `kind`, which the PATCH body does not declare: naming
    another kind than the trigger's is a 422, not ignored."""
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=True)
    if raw_kind is not None and raw_kind != trigger.kind:
        raise Unprocessable("Trigger kind cannot be changed")
    for name, kind, value in _kind_specific(command):
        if value is not None and kind != trigger.kind:
            raise Unprocessable(f"{name} only applies to {kind} triggers")
    enabling = command.enabled is True and not trigger.enabled
    before = tracked(trigger)
    if "label" in command.model_fields_set:
        trigger.label = command.label
    if command.enabled is not None:
        trigger.enabled = command.enabled
    if trigger.kind == "webhook":
        trigger.signing_mode = command.signing_mode or trigger.signing_mode
        trigger.replay_window_sec = command.replay_window_sec or trigger.replay_window_sec
    cron, zone = command.cron_expression, command.timezone
    if trigger.kind == "schedule" and (enabling or cron is not None or zone is not None):
        cron = (trigger.cron_expression or "") if cron is None else cron
        zone = (trigger.timezone or "UTC") if zone is None else zone
        _set_schedule(trigger, routine, cron, zone, now)
    trigger.updated_by_agent_id = principal.agent_id
    trigger.updated_by_user_id = principal.user_id
    trigger.updated_at = now
    session.flush()
    record_change(session, actor=principal, verb="updated", row=trigger, before=before, now=now)
    return trigger


def _kind_specific(command: TriggerPatch) -> list[tuple[str, str, object]]:
    """The body fields that only mean something for one kind of trigger: (key, kind, value)."""
    return [
        ("cronExpression", "schedule", command.cron_expression),
        ("timezone", "schedule", command.timezone),
        ("signingMode", "webhook", command.signing_mode),
        ("replayWindowSec", "webhook", command.replay_window_sec),
    ]


def delete_trigger(
    session: Session, principal: Principal, *, trigger_id: str, now: datetime
) -> None:
    """The secrets go with it; runs keep their trigger id and show `trigger: null`."""
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=False)
    secret_ids, before = (trigger.secret_id, trigger.previous_secret_id), tracked(trigger)
    session.delete(trigger)
    session.flush()
    _delete_secrets(session, *secret_ids)
    record_change(
        session, actor=principal, verb="deleted", row=trigger, before=before, now=now, deleted=True
    )


def rotate_secret(
    session: Session,
    principal: Principal,
    *,
    trigger_id: str,
    command: SecretRotate,
    box: SecretBox,
    public_url: str,
    now: datetime,
) -> TriggerWithSecret:
    """A new secret. With a grace the replaced one keeps verifying until now + grace;
    there is one previous secret at most, so an earlier grace ends here at once."""
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=False)
    if trigger.kind != "webhook":
        raise Unprocessable("Only webhook triggers can rotate secrets")
    ended, replaced, before = trigger.previous_secret_id, trigger.secret_id, tracked(trigger)
    material = _new_secret(session, trigger, box, public_url, now)
    grace = command.grace_seconds
    trigger.previous_secret_id = replaced if grace else None
    trigger.previous_secret_expires_at = now + timedelta(seconds=grace) if grace else None
    session.flush()
    _delete_secrets(session, ended, None if grace else replaced)
    trigger.last_rotated_at = now
    trigger.updated_at = now
    session.flush()
    record_change(
        session, actor=principal, verb="secret_rotated", row=trigger, before=before, now=now
    )
    return TriggerWithSecret(trigger, material)


def webhook_url(public_url: str, public_id: str) -> str:
    return f"{public_url}/api/routine-triggers/public/{public_id}/fire"


def _load(
    session: Session, principal: Principal, trigger_id: str, *, for_update: bool
) -> tuple[RoutineTrigger, Routine]:
    trigger = load_visible(
        session, principal, RoutineTrigger, trigger_id, TRIGGER_NOT_FOUND, for_update=for_update
    )
    routine = session.get(Routine, trigger.routine_id)
    assert routine is not None
    return trigger, routine


def _set_schedule(
    trigger: RoutineTrigger, routine: Routine, cron: str, timezone: str, now: datetime
) -> None:
    """Validate, then restart the schedule from now: enabling never backfills."""
    spec = parse_cron(cron)
    validate_timezone(timezone)
    if trigger.enabled:
        check_schedulable(list(routine.variables or []))
    trigger.cron_expression = cron.strip()
    trigger.timezone = timezone
    trigger.next_run_at = next_fire_after(spec, timezone, now)


def _delete_secrets(session: Session, *secret_ids: uuid.UUID | None) -> None:
    for secret_id in secret_ids:
        secret = session.get(Secret, secret_id) if secret_id else None
        if secret is not None:
            session.delete(secret)
    session.flush()


def _new_secret(
    session: Session, trigger: RoutineTrigger, box: SecretBox, public_url: str, now: datetime
) -> SecretMaterial:
    value = _secret_value(trigger.signing_mode)
    secret = Secret(
        company_id=trigger.company_id, kind="webhook", ciphertext=box.seal(value), created_at=now
    )
    session.add(secret)
    session.flush()
    trigger.secret_id = secret.id
    assert trigger.public_id is not None
    return SecretMaterial(webhook_url(public_url, trigger.public_id), value)


def _secret_value(signing_mode: str | None) -> str:
    """`whsec_<base64>` for Standard Webhooks, as its senders expect; 48 hex otherwise."""
    if signing_mode == "standard_webhooks":
        raw = secrets.token_bytes(STANDARD_SECRET_BYTES)
        return STANDARD_PREFIX + base64.b64encode(raw).decode("ascii")
    return secrets.token_hex(24)
