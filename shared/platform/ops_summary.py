"""The numbers behind the /ops page, read from the database and the broker so that
every web pod shows the same picture."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.contract.timefmt import iso
from shared.models import Routine, RoutineRun
from shared.platform.metrics import queue_depths
from shared.tenancy.access import require_admin
from shared.tenancy.auth import Principal

WINDOW_MINUTES = 30
#: Rows read for the charts at most; beyond that the oldest minutes are thinned out.
CHART_ROWS = 50_000


@dataclass(frozen=True)
class OpsSummary:
    generated_at: str
    #: Now, whatever their age: routines, and runs not decided yet (`received`).
    totals: dict[str, int]
    window_minutes: int
    #: Runs fired in the window, by their status now.
    window_runs: dict[str, int]
    queues: dict[str, dict[str, int]]
    minutes: list[str]
    fires_per_minute: dict[str, list[int]]
    decisions_per_minute: dict[str, list[int]]
    schedule_lag_seconds: dict[str, float | None]
    failed_runs: list[dict[str, Any]] = field(default_factory=list)
    leader: dict[str, Any] = field(default_factory=dict)


def ops_summary(
    session: Session,
    principal: Principal,
    *,
    broker: dramatiq.Broker,
    now: datetime,
    leader: dict[str, Any],
) -> OpsSummary:
    require_admin(principal)
    start = (now - timedelta(minutes=WINDOW_MINUTES)).replace(second=0, microsecond=0)
    minutes = [start + timedelta(minutes=i) for i in range(WINDOW_MINUTES + 1)]
    chart = select(
        RoutineRun.created_at,
        RoutineRun.source,
        RoutineRun.status,
        RoutineRun.scheduled_for,
        RoutineRun.decided_at,
    )
    rows = session.execute(
        chart.where(RoutineRun.created_at >= start)
        .order_by(RoutineRun.created_at.desc())
        .limit(CHART_ROWS)
    ).all()
    fires: dict[str, list[int]] = {
        s: [0] * len(minutes) for s in ("manual", "api", "webhook", "schedule")
    }
    decisions: dict[str, list[int]] = {}
    lags: list[float] = []
    for row in rows:
        slot = int((row.created_at - start).total_seconds() // 60)
        if 0 <= slot < len(minutes):
            fires.setdefault(row.source, [0] * len(minutes))[slot] += 1
            if row.status != "received":
                decisions.setdefault(row.status, [0] * len(minutes))[slot] += 1
        if row.scheduled_for is not None:
            lags.append((row.created_at - row.scheduled_for).total_seconds())
    return OpsSummary(
        generated_at=iso(now),
        totals=_totals(session),
        window_minutes=WINDOW_MINUTES,
        window_runs=_window_runs(session, start),
        queues={
            q: {"ready": r, "delayed": d, "dead": x} for q, (r, d, x) in _depths(broker).items()
        },
        minutes=[iso(m) for m in minutes],
        fires_per_minute=fires,
        decisions_per_minute=decisions,
        schedule_lag_seconds=_lag(lags),
        failed_runs=_failed(session),
        leader=leader,
    )


def _window_runs(session: Session, start: datetime) -> dict[str, int]:
    """Runs fired since `start` by status, a range on the index on created_at."""
    by_status = (
        select(RoutineRun.status, func.count())
        .where(RoutineRun.created_at >= start)
        .group_by(RoutineRun.status)
    )
    return {status: int(count) for status, count in session.execute(by_status)}


def _totals(session: Session) -> dict[str, int]:
    """The backlog through the partial index on `received` runs, so old history is never read."""
    received = select(func.count()).select_from(RoutineRun).where(RoutineRun.status == "received")
    return {
        "routines": int(session.scalar(select(func.count()).select_from(Routine)) or 0),
        "received": int(session.scalar(received) or 0),
    }


def _depths(broker: dramatiq.Broker) -> dict[str, tuple[int, int, int]]:
    try:
        return queue_depths(broker)
    except Exception:
        return {}


def _lag(lags: list[float]) -> dict[str, float | None]:
    if not lags:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(lags)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


def _failed(session: Session) -> list[dict[str, Any]]:
    """Newest failures first, through the partial index on failed runs' updated_at."""
    rows = session.execute(
        select(RoutineRun.id, RoutineRun.routine_id, Routine.title, RoutineRun.source,
               RoutineRun.failure_reason, RoutineRun.updated_at)
        .join(Routine, Routine.id == RoutineRun.routine_id)
        .where(RoutineRun.status == "failed")
        .order_by(RoutineRun.updated_at.desc())
        .limit(10)
    )  # fmt: skip
    return [
        {
            "runId": str(row.id),
            "routineId": str(row.routine_id),
            "routine": row.title,
            "source": row.source,
            "reason": row.failure_reason,
            "at": iso(row.updated_at),
        }
        for row in rows
    ]
