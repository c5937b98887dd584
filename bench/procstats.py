"""CPU time and resident memory of the benchmark's processes and of the whole machine,
read from /proc; and waiting for a quiet machine, since other work on it distorts every
figure."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench.report import say
from devstack.processes import Process

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after it are fixed.
    return raw[raw.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    """Every live process of a process group (Process starts each in its own session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm = (entry / "comm").read_text().strip()
                if comm.startswith(names):
                    found.append(int(entry.name))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of the processes and of their reaped children."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / CLK_TCK


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


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
            # Only the backends serving this run's database: the server is shared.
            with self.engine.connect() as connection:
                pids = connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ).all()
            got["postgresql (this database)"] = cpu_seconds(pids)
        got["redis-server"] = cpu_seconds(pids_named("redis-server"))
        return got

    def start(self) -> None:
        self._start = self._read()
        self._busy = machine_busy()
        self._t = time.monotonic()

    def stop(self, extra: dict[str, float] | None = None) -> dict[str, Any]:
        end = self._read()
        busy, total = machine_busy()
        wall = time.monotonic() - self._t
        used = {name: max(0.0, end[name] - self._start.get(name, 0.0)) for name in end}
        used.update(extra or {})
        cores = os.cpu_count() or 1
        busy_share = (busy - self._busy[0]) / max(1.0, total - self._busy[1])
        shares = {name: round(v / wall, 2) for name, v in used.items()} if wall else {}
        shares["everything else"] = round(max(0.0, busy_share * cores - sum(shares.values())), 2)
        return {
            "wall_s": round(wall, 2),
            "machine_busy_pct_of_all_cores": round(100 * busy_share, 1),
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
        b0, t0 = machine_busy()
        time.sleep(2)
        b1, t1 = machine_busy()
        busy = 100 * (b1 - b0) / max(1.0, t1 - t0)
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
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                "quiet": settled,
            }
        if waited - told >= 30:
            told = waited
            say(f"machine {busy:.0f}% busy with other work; waiting (at most {max_wait:.0f} s)")
