"""What a benchmark prints as it goes and records with its figures: the command that
ran it, the machine, the services' versions and settings, the commit."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, text

from devstack.services import PG_ADMIN_URL, redis_client

ROOT = Path(__file__).resolve().parents[1]


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """How this run was started, as recorded with its figures: `python -m bench.X ...`."""
    return " ".join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_facts() -> dict[str, Any]:
    cpu = "unknown"  # the model's name: psutil does not tell it
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as connection:
            pg_version = connection.scalar(text("SHOW server_version"))
            sync_commit = connection.scalar(text("SHOW synchronous_commit"))
            fsync = connection.scalar(text("SHOW fsync"))
    finally:
        admin.dispose()
    redis_info = redis_client().info("server")
    wrk = shutil.which("wrk")
    wrk_version = "missing"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        wrk_version = (out.stdout or out.stderr).splitlines()[0].strip()
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_synchronous_commit": sync_commit,
        "postgresql_fsync": fsync,
        "redis": redis_info.get("redis_version"),
        "wrk": wrk_version,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_tracked_changes": bool(status) if status != "unknown" else None,
    }


def write_results(path: Path, results: dict[str, Any]) -> None:
    """The figures as indented JSON (bench/results/ by default), for reading and diffing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
