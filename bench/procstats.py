"""CPU time and resident memory of the benchmark's processes and of the whole machine,
and waiting for a quiet machine, since other work on it distorts every figure.

Read with psutil; a process that has gone meanwhile counts as nothing."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from typing import Any

import psutil
from sqlalchemy import Engine, text

from bench.report import say
from devstack.processes import Process


def group_pids(pgid: int) -> list[int]:
    """Every live process of a process group (Process starts each in its own session)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
    return sorted(found)


def pids_named(*names: str) -> list[int]:
    return [
        p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith(names)
    ]


def children(pid: int) -> list[int]:
    with contextlib.suppress(psutil.Error):
        return sorted(child.pid for child in psutil.Process(pid).children())
    return []


def database_backends(engine: Engine) -> list[int]:
    """The PostgreSQL backends serving `engine`'s database (the server is shared), but
    the one asking."""
    with engine.connect() as connection:
        return list(
            connection.scalars(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            )
        )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of the processes and of their reaped children."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            used = psutil.Process(pid).cpu_times()
            total += used.user + used.system + used.children_user + used.children_system
    return total


def rss_kb(pid: int) -> int:
    with contextlib.suppress(psutil.Error):
        return int(psutil.Process(pid).memory_info().rss) // 1024
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: pages shared after fork count once over the sharers."""
    with contextlib.suppress(psutil.Error):
        return int(psutil.Process(pid).memory_full_info().pss) // 1024
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of all CPUs since boot; idle and iowait are not busy."""
    cpu = psutil.cpu_times()
    idle = cpu.idle + cpu.iowait
    total = idle + cpu.user + cpu.nice + cpu.system + cpu.irq + cpu.softirq + cpu.steal
    return total - idle, total


def busy_share(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The share (0..1) of all CPUs' time that was busy between two machine_busy()."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


class CpuMeter:
    """CPU seconds used by each named set of processes between start() and stop()."""

    def __init__(self, groups: dict[str, Process], engine: Engine | None = None) -> None:
        self.groups = groups
        self.engine = engine
        self._start: dict[str, float] = {}
        self._busy = (0.0, 0.0)
        self._t = 0.0

    def _read(self) -> dict[str, float]:
        got = {name: cpu_seconds(group_pids(p.pid)) for name, p in self.groups.items()}
        if self.engine is not None:
            got["postgresql (this database)"] = cpu_seconds(database_backends(self.engine))
        got["redis-server"] = cpu_seconds(pids_named("redis-server"))
        return got

    def start(self) -> None:
        self._start = self._read()
        self._busy = machine_busy()
        self._t = time.monotonic()

    def stop(self, extra: dict[str, float] | None = None) -> dict[str, Any]:
        end = self._read()
        share = busy_share(self._busy, machine_busy())
        wall = time.monotonic() - self._t
        used = {name: max(0.0, end[name] - self._start.get(name, 0.0)) for name in end}
        used.update(extra or {})
        cores = os.cpu_count() or 1
        shares = {name: round(v / wall, 2) for name, v in used.items()} if wall else {}
        shares["everything else"] = round(max(0.0, share * cores - sum(shares.values())), 2)
        return {
            "wall_s": round(wall, 2),
            "machine_busy_pct_of_all_cores": round(100 * share, 1),
            "cores_used": shares,
            "cores": cores,
        }


def wait_quiet(
    max_wait: float, threshold_pct: float = 25.0, settle: float = 10.0
) -> dict[str, Any]:
    """Wait (at most max_wait s) until the machine has been mostly idle for `settle`
    seconds, since other work on it distorts every figure; what was seen is recorded
    with the results (and each phase records the CPU that other processes took)."""
    started = time.monotonic()
    told = -60.0
    quiet_since: float | None = None
    busy = 100.0
    while True:
        before = machine_busy()
        time.sleep(2)
        busy = 100 * busy_share(before, machine_busy())
        now = time.monotonic()
        waited = now - started
        if busy >= threshold_pct:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now - 2
        settled = quiet_since is not None and now - quiet_since >= settle
        if settled or waited >= max_wait:
            return {
                "busy_pct_before_start": round(busy, 1),
                "waited_s": round(waited, 1),
                "loadavg": [f"{load:.2f}" for load in psutil.getloadavg()],
                "quiet": settled,
            }
        if waited - told >= 30:
            told = waited
            say(f"machine {busy:.0f}% busy with other work; waiting (at most {max_wait:.0f} s)")
