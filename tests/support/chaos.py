"""Fault injection for end-to-end tests: PRIVATE PostgreSQL and Redis servers on
loopback that a test may stop, kill and bring back (same port, same data) without
ever touching the machine's shared services, a steady load of fires over HTTP, and
a ledger of runs and issues read straight from the database.

The application processes themselves (gunicorn, dramatiq, scheduler) are started
by devstack/processes.py; this module adds the services underneath them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from devstack.api import Api, HttpTransport
from devstack.processes import distributed_env, free_port, run_release, wait_for
from devstack.services import new_namespace

#: Timings short enough for fault tests to finish in seconds. Production keeps the
#: defaults of shared/platform/settings.py: a run still `received` is swept back onto the queue
#: after 30 s, the scheduler wakes every 1 s, and dramatiq considers a silent worker
#: dead (and requeues its unacknowledged messages) after 60 s.
FAST_TIMINGS = {
    "ROUTINES_SWEEP_AFTER_SECONDS": "3",
    "ROUTINES_SCHEDULER_INTERVAL_SECONDS": "0.5",
    "ROUTINES_BROKER_HEARTBEAT_TIMEOUT_MS": "5000",
}

#: Every run status but `received` is a decision (API.md section 6).
DECIDED = frozenset({"issue_created", "coalesced", "skipped", "completed", "failed"})
#: Issue statuses that make an execution issue "live" (API.md section 6).
LIVE = frozenset({"backlog", "todo", "in_progress", "in_review", "blocked"})


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's binaries (Debian layout)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not found:
        raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return found[-1]


class Server:
    """A service process in its own process group that can be stopped, killed and
    started again on the same port; its output accumulates in one log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        log_dir: Path,
        ready: Callable[[], bool],
        stop_signal: int = signal.SIGTERM,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_dir / f"{name}.log"
        self.ready = ready
        self.stop_signal = stop_signal
        self.user = user
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        assert not self.alive(), f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
                group=_group_of(self.user) if self.user else None,
                extra_groups=[] if self.user else None,
            )

        def up() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited early:\n{self.output()[-3000:]}")
            return self.ready()

        wait_for(up, timeout=timeout, what=f"{self.name} to accept connections")

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15) -> None:
        """A clean shutdown (SIGKILL if it takes longer than `timeout`)."""
        self._signal(self.stop_signal)
        self._reap(timeout)

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown at all."""
        self._signal(signal.SIGKILL)
        self._reap(10)

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections but nothing answers, as in a
        network partition."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: int) -> None:
        """To the process group and every descendant: PostgreSQL puts each backend in a
        process group of its own, so a group signal alone would miss them."""
        if self.popen is None or not self.alive():
            return
        targets = [self.popen.pid, *descendants(self.popen.pid)]
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        for pid in targets[1:]:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _reap(self, timeout: float) -> None:
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _group_of(user: str) -> int:
    return pwd.getpwnam(user).pw_gid


class RedisServer(Server):
    """`redis-server` without persistence: a stop loses every queued message, which
    is exactly the outage the sweep must recover from."""

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        argv = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        super().__init__("private-redis", argv, log_dir=log_dir, ready=self._pings)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def _pings(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class PostgresServer(Server):
    """A throw-away PostgreSQL cluster run by the `postgres` OS user (initdb and
    postgres refuse to run as root) in a temporary folder; SIGINT is its fast
    shutdown, which disconnects every client instead of waiting for them."""

    USER = "postgres"

    def __init__(self, log_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.home = Path(tempfile.mkdtemp(prefix="routines-pg-"))
        account = pwd.getpwnam(self.USER)
        os.chown(self.home, account.pw_uid, account.pw_gid)
        self.data = self.home / "data"
        binaries = postgres_bin()
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.USER,
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            cwd=self.home,
            user=self.USER,
            group=account.pw_gid,
            extra_groups=[],
            check=True,
            capture_output=True,
            timeout=120,
        )
        argv = [
            str(binaries / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.home),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "max_connections=200",
        ]
        super().__init__(
            "private-postgres",
            argv,
            log_dir=log_dir,
            ready=self._accepts,
            stop_signal=signal.SIGINT,
            user=self.USER,
            cwd=self.home,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{self.USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        connection = psycopg2.connect(self._dsn("postgres"))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def remove(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.USER} dbname={database}"

    def _accepts(self) -> bool:
        try:
            psycopg2.connect(self._dsn("postgres"), connect_timeout=1).close()
        except psycopg2.OperationalError:
            return False
        return True


@dataclass
class PrivateStack:
    """The env for app processes on a private PostgreSQL and a private Redis."""

    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path
    postgres: PostgresServer
    redis: RedisServer


@contextmanager
def private_stack(log_dir: Path) -> Iterator[PrivateStack]:
    """Private PostgreSQL and Redis, a migrated database, a fresh namespace and the
    fast timings; everything is stopped and removed afterwards."""
    postgres = PostgresServer(log_dir)
    server = RedisServer(log_dir)
    try:
        postgres.start()
        server.start()
        database_url = postgres.create_database("routines")
        namespace = new_namespace()
        env = distributed_env(database_url, server.url, namespace, **FAST_TIMINGS)
        run_release(env)
        yield PrivateStack(env, database_url, namespace, log_dir, postgres, server)
    finally:
        server.stop()
        postgres.stop()
        postgres.remove()


# --- load -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One request of a load: its status (None when it raised or timed out), when it
    started (time.monotonic()) and how long it took."""

    status: int | None
    seconds: float
    run_id: str | None = None
    error: str | None = None
    body: Any = None
    at: float = 0.0


def timed_call(call: Callable[[], Any]) -> Outcome:
    """Run one request; a timeout or a dropped connection is an Outcome, not a raise."""
    started = time.monotonic()
    try:
        response = call()
    except Exception as error:
        elapsed = time.monotonic() - started
        return Outcome(None, elapsed, error=f"{type(error).__name__}: {error}", at=started)
    body = response.body
    run_id = body.get("id") if response.status == 202 and isinstance(body, dict) else None
    return Outcome(response.status, time.monotonic() - started, run_id, body=body, at=started)


class FireLoad:
    """Fires at `rate` per second, round-robin over `targets` (callables that make one
    request), each request on its own client thread so that a slow answer does not
    slow the load down, until stopped; `outcomes` in the order sent."""

    def __init__(self, targets: list[Callable[[], Any]], *, rate: float, clients: int = 64) -> None:
        self.targets = targets
        self.interval = 1.0 / rate
        self._pool = ThreadPoolExecutor(clients, thread_name_prefix="fire-load")
        self._futures: list[Future[Outcome]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fire-load", daemon=True)

    def __enter__(self) -> FireLoad:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        """Stop sending and wait for every answer (each has its own client timeout)."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)
        return self.outcomes

    @property
    def outcomes(self) -> list[Outcome]:
        return [f.result() for f in list(self._futures) if f.done()]

    def _run(self) -> None:
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            target = self.targets[n % len(self.targets)]
            self._futures.append(self._pool.submit(timed_call, target))
            n += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def fire_burst(
    api: Api, routine_id: str, n: int, *, threads: int = 50, **body: Any
) -> list[Outcome]:
    """`n` manual runs of one routine at once from `threads` client threads."""
    path = f"/api/routines/{routine_id}/run"
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: timed_call(lambda: api.post(path, body)), range(n)))


def hmac_headers(secret: str, body: bytes) -> dict[str, str]:
    """Headers of a `hmac_sha256` webhook fire signed now (API.md 5.3)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Paperclip-Timestamp": timestamp,
        "X-Paperclip-Signature": f"sha256={digest.hexdigest()}",
    }


def http_api(port: int, *, timeout: float = 30, token: str | None = "admin-test-token") -> Api:
    return Api(HttpTransport(f"http://127.0.0.1:{port}", timeout=timeout), token=token)


# --- ledger -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRow:
    id: str
    routine_id: str
    status: str
    linked_issue_id: str | None
    coalesced_into_run_id: str | None


@dataclass(frozen=True)
class IssueRow:
    id: str
    origin_id: str | None
    origin_run_id: str | None
    status: str
    identifier: str


@dataclass
class Ledger:
    """Runs and issues as they are in PostgreSQL, for counting after a fault."""

    runs: list[RunRow] = field(default_factory=list)
    issues: list[IssueRow] = field(default_factory=list)

    @classmethod
    def read(cls, engine: Engine, routine_ids: list[str] | None = None) -> Ledger:
        where = "WHERE routine_id::text = ANY(:ids)" if routine_ids is not None else ""
        issue_where = "AND origin_id::text = ANY(:ids)" if routine_ids is not None else ""
        params = {"ids": routine_ids} if routine_ids is not None else {}
        with engine.connect() as connection:
            runs = [
                RunRow(*(None if v is None else str(v) for v in row))  # type: ignore[arg-type]
                for row in connection.execute(
                    text(
                        "SELECT id, routine_id, status, linked_issue_id, coalesced_into_run_id "
                        f"FROM routine_runs {where}"
                    ),
                    params,
                )
            ]
            issues = [
                IssueRow(*(None if v is None else str(v) for v in row))  # type: ignore[arg-type]
                for row in connection.execute(
                    text(
                        "SELECT id, origin_id, origin_run_id, status, identifier FROM issues "
                        f"WHERE origin_kind = 'routine_execution' {issue_where}"
                    ),
                    params,
                )
            ]
        return cls(runs, issues)

    def by_status(self) -> Counter[str]:
        return Counter(run.status for run in self.runs)

    def undecided(self) -> list[str]:
        return [run.id for run in self.runs if run.status not in DECIDED]

    def live(self) -> list[IssueRow]:
        return [issue for issue in self.issues if issue.status in LIVE]

    def assert_each_run_decided_once(self, accepted: list[str]) -> None:
        """Every accepted run is in the database and decided; every issue comes from
        exactly one run and every run that made an issue made exactly one."""
        ids = {run.id for run in self.runs}
        assert len(accepted) == len(set(accepted)), "two 202s carried the same run id"
        missing = set(accepted) - ids
        assert not missing, f"{len(missing)} runs answered 202 are not in the database"
        assert not self.undecided(), f"{len(self.undecided())} runs are still undecided"
        origins = Counter(issue.origin_run_id for issue in self.issues)
        doubled = {run for run, n in origins.items() if n > 1}
        assert not doubled, f"runs with more than one issue: {doubled}"
        created = [
            r for r in self.runs if r.linked_issue_id and r.status not in ("coalesced", "skipped")
        ]
        assert len(self.issues) == len(created), (len(self.issues), len(created))
        issues = {issue.id: issue for issue in self.issues}
        for run in created:
            assert run.linked_issue_id in issues, f"run {run.id} links no issue"
            assert issues[run.linked_issue_id].origin_run_id == run.id


@contextmanager
def database(url: str) -> Iterator[Engine]:
    engine = create_engine(url, pool_pre_ping=True)
    try:
        yield engine
    finally:
        engine.dispose()


def wait_until_decided(
    engine: Engine, routine_ids: list[str], *, timeout: float, expected: int | None = None
) -> Ledger:
    """Poll until no run of these routines is `received` (and, if given, at least
    `expected` runs exist); the final ledger."""
    ledger = Ledger()

    def settled() -> bool:
        nonlocal ledger
        try:
            ledger = Ledger.read(engine, routine_ids)
        except Exception:  # the database may itself be coming back
            return False
        enough = expected is None or len(ledger.runs) >= expected
        return enough and not ledger.undecided()

    try:
        wait_for(settled, timeout=timeout, what="every run to be decided")
    except TimeoutError as error:
        raise TimeoutError(f"{error}; runs by status: {dict(ledger.by_status())}") from None
    return ledger
