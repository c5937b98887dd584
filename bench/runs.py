"""What the runs table says during and after the load: the backlog and its trend, the
drain, recorded and decided runs per second, fire-to-decision latency."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from bench.stats import pct, rounded, slope


def backlog(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(text("SELECT count(*) FROM routine_runs WHERE status = 'received'"))
            or 0
        )


class BacklogSampler:
    """Counts `received` runs once a second in a thread, for the backlog's trend."""

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        self.engine = engine
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = 0.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.samples.append((time.monotonic() - self._t0, backlog(self.engine)))
            self._stop.wait(self.every)

    def __enter__(self) -> BacklogSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self, window: float) -> dict[str, Any]:
        inside = [(t, n) for t, n in self.samples if t <= window + 0.5]
        half = [(t, n) for t, n in inside if t >= window / 2]
        return {
            "samples_every_s": self.every,
            "max": max((n for _, n in inside), default=0),
            "at_end_of_load": inside[-1][1] if inside else None,
            "slope_second_half_runs_per_s": rounded(slope(half), 2),
            "series": [[round(t, 1), n] for t, n in inside],
        }


def wait_drained(
    engine: Engine, routine_ids: Sequence[str], since: datetime, timeout: float
) -> dict[str, Any]:
    """Wait (bounded) until no run of these routines recorded since `since` is still
    `received`; how long that took and what remains."""
    started = time.monotonic()
    remaining = _pending(engine, routine_ids, since)
    while remaining and time.monotonic() - started < timeout:
        time.sleep(0.25)
        remaining = _pending(engine, routine_ids, since)
    return {"drain_s": round(time.monotonic() - started, 2), "backlog_left": remaining}


def _pending(engine: Engine, routine_ids: Sequence[str], since: datetime) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM routine_runs WHERE status = 'received' "
                    "AND created_at >= :since AND routine_id = ANY(:ids)"
                ),
                {"since": since, "ids": [uuid.UUID(r) for r in routine_ids]},
            )
            or 0
        )


def run_stats(
    engine: Engine,
    routine_ids: Sequence[str],
    source: str,
    since: datetime,
    load_end: datetime,
) -> dict[str, Any]:
    """Recorded and decided runs of the phase, from the runs' own timestamps."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT status, created_at, decided_at FROM routine_runs "
                "WHERE created_at >= :since AND source = :source AND routine_id = ANY(:ids)"
            ),
            {"since": since, "source": source, "ids": [uuid.UUID(r) for r in routine_ids]},
        ).all()
    statuses = Counter(r.status for r in rows)
    decided = [r for r in rows if r.decided_at is not None]
    lags = [(r.decided_at - r.created_at).total_seconds() * 1000 for r in decided]
    window = (load_end - since).total_seconds()
    in_window = sum(1 for r in decided if r.decided_at <= load_end)
    created_in_window = sum(1 for r in rows if r.created_at <= load_end)
    first = min((r.created_at for r in rows), default=None)
    last_decided = max((r.decided_at for r in decided), default=None)
    overall = (last_decided - first).total_seconds() if first and last_decided else 0.0
    return {
        "recorded": len(rows),
        "recorded_per_s_in_window": round(created_in_window / window, 1) if window else None,
        "decided": len(decided),
        "decided_per_s_in_window": round(in_window / window, 1) if window else None,
        "decided_per_s_first_fire_to_last_decision": round(len(decided) / overall, 1)
        if overall
        else None,
        "statuses": dict(statuses),
        "fire_to_decision_ms": {
            "p50": rounded(pct(lags, 50)),
            "p90": rounded(pct(lags, 90)),
            "p99": rounded(pct(lags, 99)),
            "max": rounded(max(lags) if lags else None),
        },
    }
