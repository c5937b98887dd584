"""py-spy recordings of the web and worker processes under load, and their summary:
the top functions and packages by share of samples."""

from __future__ import annotations

import math
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from devstack.processes import BIN


def start_profilers(pid: int, base: Path, duration: float) -> list[subprocess.Popen[bytes]]:
    """py-spy on `pid`, three recordings at once (all at 100 Hz, without pausing it):
    base.svg, a flame graph of non-idle threads; base.collapsed.txt, the same as
    collapsed stacks (function level; speedscope and flamegraph.pl read it); and
    base.gil.collapsed.txt, only the thread holding the GIL, i.e. where Python spends CPU
    (waits in libpq or on sockets release the GIL and drop out)."""
    spy = BIN / "py-spy"
    if not spy.exists():
        found = shutil.which("py-spy")
        if found is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        spy = Path(found)
    common = [
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(math.ceil(duration)),
        "--nonblocking",
        "--rate",
        "100",
    ]
    runs = [
        [*common, "--format", "flamegraph", "-o", f"{base}.svg"],
        [*common, "--format", "raw", "--nolineno", "-o", f"{base}.collapsed.txt"],
        [*common, "--gil", "--format", "raw", "--nolineno", "-o", f"{base}.gil.collapsed.txt"],
    ]
    return [
        subprocess.Popen([str(spy), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for argv in runs
    ]


#: First path parts that are this project's code.
APP_PACKAGES = ("shared", "web", "workers", "scheduler", "launcher", "bench")


def _frame_area(frame: str) -> str:
    """'function (package/module.py)' -> the package, for self-time attribution (py-spy
    prints paths relative to sys.path, so the first part is the top-level package)."""
    path = frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else ""
    parts = path.split("/")
    if not parts or not parts[0]:
        return "?"
    if parts[0] in APP_PACKAGES:
        return "app: " + "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py")


def top_functions(collapsed: Path, n: int = 25) -> dict[str, Any]:
    """Self and inclusive share of samples per function, and self share per package."""
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_counts[frames[-1]] += count
        areas[_frame_area(frames[-1])] += count
        for frame in set(frames):
            incl_counts[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"pct": round(100 * c / total, 1), "samples": c, "function": f}
            for f, c in counter.most_common(n)
        ]

    return {
        "samples": total,
        "self": share(self_counts),
        "inclusive": share(incl_counts),
        "self_by_package": share(areas),
    }
