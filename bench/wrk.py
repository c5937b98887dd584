"""Closed-loop load at full speed: wrk replaying prepared requests (bench/fire.lua), each
used once, and its figures. Bounded in count and in time; targets 127.0.0.1 only."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.payloads import Request
from bench.stack import HOST

LUA = Path(__file__).with_name("fire.lua")


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench: wrk is not installed. Install it with `apt-get install -y wrk` "
            "(Debian's package; `make bench` does this when run as root)."
        )
    return wrk


@dataclass
class WrkSettings:
    threads: int = 1
    connections: int = 32
    timeout_s: float = 2.0


def write_wrk_data(requests: Sequence[Request], path: Path) -> Path:
    with path.open("w") as out:
        for method, target, body, headers in requests:
            fields = [method, target, body.decode()]
            fields += [f"{name}: {value}" for name, value in headers.items()]
            assert not any("\t" in f or "\n" in f for f in fields)
            out.write("\t".join(fields) + "\n")
    return path


def run_wrk(
    port: int,
    data: Path,
    *,
    mode: str,
    duration: float,
    settings: WrkSettings,
    connections: int | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run wrk over the requests in `data` for `duration` seconds (or, in mode "once",
    until every request was answered, whichever comes first); its figures as a dict."""
    wrk = require_wrk()
    conns = connections or settings.connections
    threads = min(settings.threads, conns)
    marker = data.with_suffix(".done")
    for old in data.parent.glob(marker.name + ".*"):
        old.unlink()
    argv = [
        wrk,
        "-t",
        str(threads),
        "-c",
        str(conns),
        "-d",
        f"{max(1, math.ceil(duration))}s",
        "--timeout",
        f"{math.ceil(timeout_s or settings.timeout_s)}s",
        "--latency",
        "-s",
        str(LUA),
        f"http://{HOST}:{port}",
        "--",
        str(data),
        mode,
        str(threads),
        str(marker),
    ]
    out_path = data.with_suffix(".wrk.out")
    started = time.monotonic()
    deadline = started + duration + 60
    stopped_early = killed = False
    usage = None
    with out_path.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        while True:
            # wait4 rather than poll(): it also hands back wrk's own CPU time.
            pid, status, got = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                usage = got
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            all_answered = len(list(data.parent.glob(marker.name + ".*"))) >= threads
            if mode == "once" and not stopped_early and all_answered:
                stopped_early = True
                proc.send_signal(signal.SIGINT)
            if time.monotonic() > deadline and not killed:
                killed = True
                proc.kill()
            time.sleep(0.05)
    wall = time.monotonic() - started
    text_out = out_path.read_text(errors="replace")
    line = next((x for x in text_out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{text_out[-3000:]}")
    result: dict[str, Any] = json.loads(line[len("WRK_JSON ") :])
    result["wall_s"] = round(wall, 2)
    result["threads"], result["connections"] = threads, conns
    result["stopped_when_all_answered"] = stopped_early
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2) if usage is not None else None
    return result


def summarize_wrk(result: dict[str, Any], *, ok_status: str) -> dict[str, Any]:
    seconds = result["duration_us"] / 1e6
    statuses = {k: int(v) for k, v in result["statuses"].items()}
    ok = statuses.get(ok_status, 0)
    other = {k: v for k, v in statuses.items() if k not in (ok_status, "200")}
    errors = result["errors"]
    lat = result["latency_us"]
    return {
        "generator": "wrk",
        "threads": result["threads"],
        "connections": result["connections"],
        "duration_s": round(seconds, 2),
        "accepted": ok,
        "accepted_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "latency_ms": {
            "p50": lat["p50"] / 1000,
            "p90": lat["p90"] / 1000,
            "p99": lat["p99"] / 1000,
            "p999": lat["p999"] / 1000,
            "max": lat["max"] / 1000,
            "mean": round(lat["mean"] / 1000, 3),
        },
        "errors": {
            "non_2xx": sum(other.values()),
            "non_2xx_by_status": other,
            "socket_connect": errors["connect"],
            "socket_read": errors["read"],
            "socket_write": errors["write"],
            "timeouts": errors["timeout"],
        },
        "error_count": sum(other.values())
        + errors["connect"]
        + errors["read"]
        + errors["write"]
        + errors["timeout"],
        "requests_list_exhausted": result["exhausted"],
        "load_generator_cpu_cores": round(result["cpu_s"] / seconds, 2)
        if result.get("cpu_s") is not None and seconds
        else None,
    }
