"""Triggers: how a routine is fired (schedule, webhook, explicit API call)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared.contract.errors import Invalid, Unprocessable
from shared.models import Routine, RoutineTrigger, Secret
from shared.platform.secrets_box import SecretBox
from shared.routines.service import ROUTINE_NOT_FOUND, check_schedulable
from shared.schedules.cron_parse import parse_cron, validate_timezone
from shared.schedules.cron_walk import next_fire_after
from shared.tenancy.access import may_manage_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

TRIGGER_NOT_FOUND = "Routine trigger not found"
#: Body fields that only mean something for one kind of trigger.
KIND_FIELDS = {
    "cronExpression": "schedule",
    "timezone": "schedule",
    "signingMode": "webhook",
    "replayWindowSec": "webhook",
}


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
    fields: dict[str, Any],
    box: SecretBox | None,
    public_url: str,
    now: datetime,
) -> TriggerWithSecret:
    _require_kind_fields(fields)
    routine = load_visible(session, principal, Routine, routine_id, ROUTINE_NOT_FOUND)
    may_manage_routine(principal, routine, assigns=True)
    kind = fields["kind"]
    trigger = RoutineTrigger(
        company_id=routine.company_id,
        routine_id=routine.id,
        kind=kind,
        label=fields.get("label"),
        enabled=fields["enabled"],
        created_by_agent_id=principal.agent_id,
        created_by_user_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    material = None
    if kind == "schedule":
        _set_schedule(trigger, routine, fields["cronExpression"], fields["timezone"], now)
    elif kind == "webhook":
        assert box is not None
        trigger.signing_mode = fields["signingMode"]
        trigger.replay_window_sec = fields["replayWindowSec"]
        trigger.public_id = secrets.token_hex(12)
        material = _new_secret(session, trigger, box, public_url, now)
    session.add(trigger)
    session.flush()
    return TriggerWithSecret(trigger, material)


def _require_kind_fields(fields: dict[str, Any]) -> None:
    """A field a kind cannot do without is missing like `kind` itself would be: a 400
    naming it, before anything is looked up."""
    if fields["kind"] == "schedule" and fields.get("cronExpression") is None:
        problem = {"path": ["cronExpression"], "message": "Required"}
        raise Invalid("Validation error", details=[problem])


def update_trigger(
    session: Session,
    principal: Principal,
    *,
    trigger_id: str,
    fields: dict[str, Any],
    raw_kind: object,
    now: datetime,
) -> RoutineTrigger:
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=True)
    if raw_kind is not None and raw_kind != trigger.kind:
        raise Unprocessable("Trigger kind cannot be changed")
    for name, kind in KIND_FIELDS.items():
        if fields.get(name) is not None and kind != trigger.kind:
            raise Unprocessable(f"{name} only applies to {kind} triggers")
    enabling = fields.get("enabled") is True and not trigger.enabled
    if "label" in fields:
        trigger.label = fields["label"]
    if "enabled" in fields:
        trigger.enabled = fields["enabled"]
    if trigger.kind == "webhook":
        trigger.signing_mode = fields.get("signingMode") or trigger.signing_mode
        trigger.replay_window_sec = fields.get("replayWindowSec") or trigger.replay_window_sec
    cron_given = fields.get("cronExpression") is not None
    zone_given = fields.get("timezone") is not None
    if trigger.kind == "schedule" and (enabling or cron_given or zone_given):
        cron = fields["cronExpression"] if cron_given else trigger.cron_expression or ""
        timezone = fields["timezone"] if zone_given else trigger.timezone or "UTC"
        _set_schedule(trigger, routine, cron, timezone, now)
    trigger.updated_by_agent_id = principal.agent_id
    trigger.updated_by_user_id = principal.user_id
    trigger.updated_at = now
    session.flush()
    return trigger


def delete_trigger(session: Session, principal: Principal, *, trigger_id: str) -> None:
    """The secret goes with it; runs keep their trigger id and show `trigger: null`."""
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=False)
    secret_id = trigger.secret_id
    session.delete(trigger)
    session.flush()
    if secret_id is not None:
        secret = session.get(Secret, secret_id)
        if secret is not None:
            session.delete(secret)
    session.flush()


def rotate_secret(
    session: Session,
    principal: Principal,
    *,
    trigger_id: str,
    box: SecretBox,
    public_url: str,
    now: datetime,
) -> TriggerWithSecret:
    trigger, routine = _load(session, principal, trigger_id, for_update=True)
    may_manage_routine(principal, routine, assigns=False)
    if trigger.kind != "webhook":
        raise Unprocessable("Only webhook triggers can rotate secrets")
    old = session.get(Secret, trigger.secret_id) if trigger.secret_id else None
    material = _new_secret(session, trigger, box, public_url, now)
    if old is not None:
        session.delete(old)
    trigger.last_rotated_at = now
    trigger.updated_at = now
    session.flush()
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


def _new_secret(
    session: Session, trigger: RoutineTrigger, box: SecretBox, public_url: str, now: datetime
) -> SecretMaterial:
    value = secrets.token_hex(24)
    secret = Secret(
        company_id=trigger.company_id, kind="webhook", ciphertext=box.seal(value), created_at=now
    )
    session.add(secret)
    session.flush()
    trigger.secret_id = secret.id
    assert trigger.public_id is not None
    return SecretMaterial(webhook_url(public_url, trigger.public_id), value)
