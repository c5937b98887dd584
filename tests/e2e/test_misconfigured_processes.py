"""A misconfigured process exits at start with one line naming the setting, instead of
running without Redis (runs stay `received` for ever) or without the secret key (503 on
every webhook trigger). The real commands, as the Procfile and k8s start them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack.processes import BIN, ROOT, distributed_env, free_port, own_metrics
from devstack.services import REDIS_URL

#: A refused process is gone well within this; a process that started runs until killed.
EXIT_WITHIN_SECONDS = 20
#: Never created: the check must refuse before anything connects.
DATABASE_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/routines_never_created"
NO_REDIS = (
    "REDIS_URL is not set; the distributed processes need Redis "
    "(use 'routines up' for the embedded mode)"
)
CONTRADICTION = "REDIS_URL is set but DATABASE_URL is SQLite; separate processes cannot share"


@dataclass(frozen=True)
class Exited:
    code: int
    lines: list[str]


def web(_tmp: Path) -> list[str]:
    bind = f"127.0.0.1:{free_port()}"
    config = ["--config", "python:web.gunicorn_conf", "--workers", "1"]
    return [str(BIN / "gunicorn"), *config, "--bind", bind, "web.wsgi:app"]


def worker(_tmp: Path) -> list[str]:
    return [str(BIN / "dramatiq"), "--processes", "1", "--threads", "1", "workers.main:setup"]


def scheduler(_tmp: Path) -> list[str]:
    return [sys.executable, "-m", "scheduler"]


PROCESSES: dict[str, Callable[[Path], list[str]]] = {
    "web": web,
    "worker": worker,
    "scheduler": scheduler,
}


def environment(tmp: Path, *unset: str, **changes: str) -> dict[str, str]:
    """Only what the test gives: nothing inherited from the developer's shell counts."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith("ROUTINES_") and "_URL" not in k
    }
    env = {**distributed_env(DATABASE_URL, REDIS_URL, "routines-never-used"), **changes}
    env = {k: v for k, v in env.items() if k not in unset}
    return {**inherited, **own_metrics(tmp, "refused"), **env}


def run_refused(argv: list[str], env: dict[str, str]) -> Exited:
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = process.communicate(timeout=EXIT_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"still running after {EXIT_WITHIN_SECONDS}s:\n{err[-2000:]}")
    return Exited(process.returncode, err.splitlines())


@pytest.mark.parametrize("name", PROCESSES)
def test_a_distributed_process_without_redis_exits_at_once_naming_redis_url(
    name: str, tmp_path: Path
) -> None:
    exited = run_refused(PROCESSES[name](tmp_path), environment(tmp_path, "REDIS_URL"))
    assert exited.code == 2
    assert f"routines {name}: {NO_REDIS}" in exited.lines


def test_web_without_the_secret_key_exits_with_just_one_line_naming_it(tmp_path: Path) -> None:
    exited = run_refused(web(tmp_path), environment(tmp_path, "ROUTINES_SECRET_KEY"))
    assert exited.code == 2
    assert len(exited.lines) == 1
    assert exited.lines[0].startswith("routines web: ROUTINES_SECRET_KEY is not set;")


@pytest.mark.parametrize("name", PROCESSES)
def test_redis_with_a_sqlite_database_is_refused_as_contradictory(
    name: str, tmp_path: Path
) -> None:
    env = environment(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/routines.db")
    exited = run_refused(PROCESSES[name](tmp_path), env)
    assert exited.code == 2
    assert any(line.startswith(f"routines {name}: {CONTRADICTION}") for line in exited.lines)


def test_routines_worker_refuses_before_starting_dramatiq(tmp_path: Path) -> None:
    exited = run_refused([str(BIN / "routines"), "worker"], environment(tmp_path, "REDIS_URL"))
    assert (exited.code, exited.lines) == (2, [f"routines worker: {NO_REDIS}"])


def test_routines_up_with_a_malformed_number_exits_with_one_line(tmp_path: Path) -> None:
    env = {
        **environment(tmp_path, "DATABASE_URL", "REDIS_URL"),
        "ROUTINES_DATA_DIR": str(tmp_path / "data"),
        "ROUTINES_BODY_LIMIT": "abc",
    }
    exited = run_refused([str(BIN / "routines"), "up", "--port", str(free_port())], env)
    assert exited.code == 2
    assert exited.lines == ["routines up: ROUTINES_BODY_LIMIT must be a whole number, got 'abc'"]
