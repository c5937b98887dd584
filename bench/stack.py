"""The distributed stack a benchmark runs against: a fresh database and Redis namespace,
gunicorn, dramatiq and the scheduler as separate processes on loopback; and the no-op
app, the ceiling, under the same gunicorn settings."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine

from bench.fixtures import bench_world, make_routine_with_policy
from bench.report import say
from devstack.api import Api, HttpTransport
from devstack.processes import (
    BIN,
    Process,
    answers,
    distributed_env,
    free_port,
    run_release,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)

HOST = "127.0.0.1"


@dataclass
class Sizes:
    """The processes and threads of the stack; the defaults are the product's own
    (web/gunicorn_conf.py, `routines worker`)."""

    web_workers: int = 2
    web_threads: int = 16
    worker_processes: int = 1
    worker_threads: int = 8

    @staticmethod
    def add_options(parser: argparse.ArgumentParser) -> None:
        """--web-workers, --web-threads, --worker-processes, --worker-threads."""
        parser.add_argument(
            "--web-workers", type=int, default=Sizes.web_workers, help="gunicorn --workers"
        )
        parser.add_argument(
            "--web-threads", type=int, default=Sizes.web_threads, help="WEB_THREADS per worker"
        )
        parser.add_argument(
            "--worker-processes",
            type=int,
            default=Sizes.worker_processes,
            help="dramatiq --processes",
        )
        parser.add_argument(
            "--worker-threads", type=int, default=Sizes.worker_threads, help="dramatiq --threads"
        )

    @staticmethod
    def of(args: argparse.Namespace) -> Sizes:
        return Sizes(args.web_workers, args.web_threads, args.worker_processes, args.worker_threads)


@dataclass
class Stack:
    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path
    port: int
    admin_token: str
    engine: Engine
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def api(self) -> Api:
        return Api(HttpTransport(self.base_url), token=self.admin_token)


@contextlib.contextmanager
def distributed_stack(
    sizes: Sizes, *, scheduler: bool = False, worker: bool = True, keep_logs: bool = False
) -> Iterator[Stack]:
    """A fresh database (migrated by the release step) and Redis namespace, gunicorn and
    dramatiq (and the scheduler) as separate processes; all removed afterwards."""
    redis_client()
    database_url = create_database("routines_bench")
    namespace = new_namespace("routines-bench")
    log_dir = Path(tempfile.mkdtemp(prefix="routines-bench-"))
    admin_token = secrets.token_hex(24)
    env = distributed_env(
        database_url,
        REDIS_URL,
        namespace,
        ROUTINES_ADMIN_TOKEN=admin_token,
        ROUTINES_SECRET_KEY=secrets.token_hex(32),
        ROUTINES_RATE_LIMIT_PER_TRIGGER="0",
        ROUTINES_RATE_LIMIT_PER_CLIENT="0",
        WEB_THREADS=str(sizes.web_threads),
    )
    engine = create_engine(database_url, pool_size=2)
    stack = Stack(env, database_url, namespace, log_dir, free_port(), admin_token, engine)
    ok = False
    try:
        run_release(env)
        stack.processes["web"] = start_web(env, log_dir, port=stack.port, workers=sizes.web_workers)
        if worker:
            stack.processes["worker"] = start_worker(
                env, log_dir, processes=sizes.worker_processes, threads=sizes.worker_threads
            )
        if scheduler:
            stack.processes["scheduler"] = start_scheduler(env, log_dir)
        yield stack
        ok = True
    finally:
        for process in stack.processes.values():
            with contextlib.suppress(Exception):
                process.stop()
        engine.dispose()
        drop_database(database_url)
        delete_namespace(namespace)
        if ok and not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"process logs kept in {log_dir}")


def start_noop(sizes: Sizes, log_dir: Path, web_env: Mapping[str, str]) -> tuple[Process, int]:
    """bench/noop_app.py under the web process's gunicorn settings and environment (its
    config module refuses to start without the web process's settings)."""
    port = free_port()
    argv = [
        str(BIN / "gunicorn"),
        "--config",
        "python:web.gunicorn_conf",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(sizes.web_workers),
        "bench.noop_app:app",
    ]
    folder = log_dir / "noop-metrics"
    folder.mkdir(exist_ok=True)
    env = {**web_env, "WEB_THREADS": str(sizes.web_threads)}
    process = Process("noop", argv, {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}, log_dir)
    wait_for(lambda: answers(f"http://{HOST}:{port}/health"), timeout=30, what="no-op app")
    return process, port


def wait_worker_ready(stack: Stack, timeout: float = 60) -> None:
    """The worker consumes once a manual run gets decided."""
    api = stack.api()
    routine = make_routine_with_policy(api, *bench_world(api), "always_enqueue", "warm-up")
    run = api.ok("POST", f"/api/routines/{routine['id']}/run", {}, status=202)

    def decided() -> bool:
        return api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] != "received"

    wait_for(decided, timeout=timeout, what="the worker to decide a first run")
