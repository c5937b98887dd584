"""Backfilling a time range of a schedule trigger (issue: backfill): one `schedule` run per
tick in [from, to), recorded as the scheduler records a page (the same run row, the same
multi-row INSERT ... ON CONFLICT DO NOTHING), so the unique (trigger, scheduled_for) index
skips every tick that already has a run and a repeated backfill records nothing new. The
runs are decided by the workers afterwards, like any schedule run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from shared.activity.record import record_activity
from shared.contract.bodies import Backfill
from shared.contract.errors import Conflict, Unprocessable
from shared.contract.timefmt import iso
from shared.models import Routine, RoutineRun, RoutineTrigger
from shared.routines.triggers import TRIGGER_NOT_FOUND
from shared.schedules.cron_parse import CronSpec, parse_cron, validate_timezone
from shared.schedules.cron_walk import count_ticks, ticks_between
from shared.schedules.page import tick_run_row
from shared.schedules.tick_sql import insert_runs
from shared.tenancy.access import may_manage_routine
from shared.tenancy.auth import Principal
from shared.tenancy.lookup import load_visible

#: Most ticks one backfill may cover.
MAX_TICKS = 1000
#: Earliest `from`: offsets are whole minutes from here on (see cron_walk), and the walk
#: never has to look at the years before the Gregorian calendar's first.
EARLIEST = datetime(1972, 1, 1, tzinfo=UTC)
#: [from, to) is (from - this, to - this]: datetimes have microseconds, ticks whole minutes.
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Backfilled:
    #: The runs this backfill recorded (still `received`), oldest tick first.
    runs: tuple[RoutineRun, ...]
    #: Ticks in the range that already had a run.
    skipped: int


def backfill_trigger(
    session: Session, principal: Principal, *, trigger_id: str, command: Backfill, now: datetime
) -> Backfilled:
    """Checked as a manual run is (who may, archived routine, disabled trigger), then the
    range; the trigger stays locked until commit, as when the scheduler records a page."""
    trigger = load_visible(
        session, principal, RoutineTrigger, trigger_id, TRIGGER_NOT_FOUND, for_update=True
    )
    routine = session.get(Routine, trigger.routine_id)
    assert routine is not None
    may_manage_routine(principal, routine, assigns=True)
    if trigger.kind != "schedule" or trigger.cron_expression is None:
        raise Unprocessable("Only schedule triggers can be backfilled")
    if routine.status == "archived":
        raise Conflict("Routine is archived")
    if not trigger.enabled:
        raise Conflict("Routine trigger is not active")
    spec, zone = parse_cron(trigger.cron_expression), trigger.timezone or "UTC"
    ticks = _ticks_in_range(spec, zone, command, now)
    rows = [tick_run_row(trigger.id, routine, tick, now) for tick in ticks]
    inserted = {run_id for run_id, _, _ in insert_runs(session.connection(), rows)}
    runs = tuple(RoutineRun(**row) for row in rows if row["id"] in inserted)
    record_activity(
        session,
        company_id=trigger.company_id,
        actor=principal,
        action="trigger.backfilled",
        entity_type="trigger",
        entity_id=trigger.id,
        details={
            "from": iso(command.start),
            "to": iso(command.end),
            "recorded": len(runs),
            "skipped": len(rows) - len(runs),
        },
        now=now,
    )
    return Backfilled(runs=runs, skipped=len(rows) - len(runs))


def _ticks_in_range(
    spec: CronSpec, timezone: str, command: Backfill, now: datetime
) -> list[datetime]:
    start, end = command.start, command.end
    if start >= end:
        raise Unprocessable('"from" must be before "to"')
    if end > now:
        raise Unprocessable('"to" must not be after now')
    if start < EARLIEST:
        raise Unprocessable('"from" must not be before 1972-01-01T00:00:00.000Z')
    zone = validate_timezone(timezone)
    after, until = start - _INSTANT, end - _INSTANT
    if (count := count_ticks(spec, zone, after, until)) > MAX_TICKS:
        raise Unprocessable(f"Backfill covers {count} ticks; the limit is {MAX_TICKS}")
    return list(ticks_between(spec, zone, after, until))
