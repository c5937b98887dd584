"""The README's distributed quick start, run as a user would run it: its shell block,
read from README.md (not copied here), in a fresh `bash` at the repository's root,
and `make run-distributed`. Each must bring up release, web, worker and scheduler
(honcho and the Procfile) and decide a webhook fire; then stop on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.api import Api, HttpTransport, make_unsigned_hook, make_world
from devstack.processes import ROOT, answers, free_port, wait_for
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
#: The heading sentence of the block in README.md's Modes section.
BLOCK_INTRO = "Distributed, on a local PostgreSQL and Redis"


def readme_block() -> str:
    """The first ```sh block after BLOCK_INTRO."""
    text = README.read_text()
    start = text.index(BLOCK_INTRO)
    match = re.compile(r"```sh\n(.*?)```", re.S).search(text, start)
    assert match is not None, "README.md has no shell block after its distributed intro"
    return match.group(1)


@pytest.fixture
def fresh_shell_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """What a fresh login shell has, plus where this test's PostgreSQL database, Redis
    namespace, ports and data folder are (the block keeps variables already set)."""
    redis_client()
    database_url = create_database("routines_readme")
    namespace = new_namespace()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "ROUTINES_BROKER_NAMESPACE": namespace,
        "ROUTINES_PORT": str(free_port()),
        "ROUTINES_WEB_PORT": str(free_port()),
        "ROUTINES_WORKER_METRICS_PORT": str(free_port()),
        "ROUTINES_SCHEDULER_METRICS_PORT": str(free_port()),
        "ROUTINES_DATA_DIR": str(tmp_path / "data"),
    }
    env["ROUTINES_PUBLIC_URL"] = f"http://127.0.0.1:{env['ROUTINES_PORT']}"
    yield env
    drop_database(database_url)
    delete_namespace(namespace)


def test_the_readme_block_has_what_the_quick_start_promises() -> None:
    block = readme_block()
    assert "honcho start" in block
    assert "DATABASE_URL" in block
    assert "REDIS_URL" in block


def test_the_readme_distributed_block_serves_and_decides_a_webhook(
    fresh_shell_env: dict[str, str], tmp_path: Path
) -> None:
    started = launch(["bash", "-c", readme_block()], fresh_shell_env, tmp_path / "readme.log")
    fire_and_stop(started, fresh_shell_env, tmp_path / "readme.log")


def test_make_run_distributed_serves_and_decides_a_webhook(
    fresh_shell_env: dict[str, str], tmp_path: Path
) -> None:
    started = launch(["make", "run-distributed"], fresh_shell_env, tmp_path / "make.log")
    fire_and_stop(started, fresh_shell_env, tmp_path / "make.log")


def launch(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def fire_and_stop(process: subprocess.Popen[bytes], env: dict[str, str], log: Path) -> None:
    url = env["ROUTINES_PUBLIC_URL"]
    try:
        wait_for(
            lambda: alive(process, log) and answers(f"{url}/api/health"),
            timeout=90,
            what=f"the API at {url}",
        )
        token = admin_token(log)
        assert token == (Path(env["ROUTINES_DATA_DIR"]) / "admin-token").read_text().strip()
        api = Api(HttpTransport(url), token=token)
        world = make_world(api)
        hook_path = make_unsigned_hook(api, world.routine)
        run = api.as_(None).ok("POST", hook_path, {"event": "ping"}, status=202)
        wait_for(
            lambda: api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] != "received",
            timeout=30,
            what="the worker's decision",
        )
        assert api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] == "issue_created"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert not answers(f"{url}/api/health/live"), "web still answers after SIGTERM"


def alive(process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"exited with {process.returncode}:\n{log.read_text()[-4000:]}")
    return True


def admin_token(log: Path) -> str:
    found = re.search(r"admin token: (\S+)", log.read_text())
    assert found is not None, log.read_text()[-2000:]
    return found.group(1)
