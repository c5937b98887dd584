"""Triggers: how a routine is fired (schedule, webhook, explicit API call)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from shared.access import may_manage_routine
from shared.auth import Principal
from shared.errors import Unprocessable
from shared.models import Routine, RoutineTrigger
from shared.services.lookup import load_visible

TRIGGER_NOT_FOUND = "Routine trigger not found"


def create_trigger(
    session: Session,
    principal: Principal,
    *,
    routine_id: str,
    fields: dict[str, Any],
    now: datetime,
) -> RoutineTrigger:
    routine = load_visible(session, principal, Routine, routine_id, "Routine not found")
    may_manage_routine(principal, routine, assigns=True)
    if fields["kind"] != "api":
        raise Unprocessable(f"Trigger kind {fields['kind']} is not available yet")
    trigger = RoutineTrigger(
        company_id=routine.company_id,
        routine_id=routine.id,
        kind=fields["kind"],
        label=fields.get("label"),
        enabled=fields["enabled"],
        created_by_agent_id=principal.agent_id,
        created_by_user_id=principal.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(trigger)
    session.flush()
    return trigger
