"""The next fire times of a schedule, saved or not (issue: preview), found by the same
cron_walk.next_fire_after the scheduler moves a trigger's next run with, so a preview
across daylight saving shows exactly the instants the scheduler will fire at."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from shared.contract.bodies import CronPreview
from shared.contract.errors import Invalid, Unprocessable
from shared.models import RoutineTrigger
from shared.routines.triggers import TRIGGER_NOT_FOUND
from shared.schedules.cron_parse import parse_cron, validate_timezone
from shared.schedules.cron_walk import next_fire_after
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

#: Fire times listed when the caller names no count, and the most it may name.
DEFAULT_COUNT = 10
MAX_COUNT = 100
_COUNT = re.compile(r"[0-9]{1,3}")


@dataclass(frozen=True)
class FireTimes:
    cron_expression: str
    timezone: str
    #: UTC instants strictly after now, oldest first.
    times: tuple[datetime, ...]
    trigger_id: uuid.UUID | None = None


def parse_count(raw: str | None) -> int:
    """The `count` query parameter: absent is the default, anything but 1..100 a 400."""
    if raw is None:
        return DEFAULT_COUNT
    if _COUNT.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_COUNT:
        problem = {"path": ["count"], "message": f"Expected a whole number 1..{MAX_COUNT}"}
        raise Invalid("Validation error", details=[problem])
    return int(raw)


def trigger_fire_times(
    session: Session, principal: Principal, *, trigger_id: str, count: int, now: datetime
) -> FireTimes:
    """Readable by whoever reads the routine: another company's trigger is a 404."""
    trigger = load_visible(session, principal, RoutineTrigger, trigger_id, TRIGGER_NOT_FOUND)
    if trigger.kind != "schedule" or trigger.cron_expression is None:
        raise Unprocessable("Only schedule triggers have fire times")
    timezone = trigger.timezone or "UTC"
    times = next_fire_times(trigger.cron_expression, timezone, now=now, count=count)
    return FireTimes(trigger.cron_expression, timezone, times, trigger_id=trigger.id)


def cron_fire_times(command: CronPreview, *, now: datetime) -> FireTimes:
    """An unsaved expression: a bad one is the 422 trigger creation gives."""
    cron = command.cron_expression.strip()
    times = next_fire_times(cron, command.timezone, now=now, count=command.count)
    return FireTimes(cron, command.timezone, times)


def next_fire_times(cron: str, timezone: str, *, now: datetime, count: int) -> tuple[datetime, ...]:
    """The first `count` ticks strictly after `now`, each found from the one before, as
    the scheduler finds a trigger's next run from its last tick."""
    spec, zone = parse_cron(cron), validate_timezone(timezone)
    times: list[datetime] = []
    at = now
    for _ in range(count):
        at = next_fire_after(spec, zone, at)
        times.append(at)
    return tuple(times)
