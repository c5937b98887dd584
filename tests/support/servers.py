"""PRIVATE PostgreSQL and Redis servers on loopback that a test may stop, kill, freeze
and bring back (same port, same data) without ever touching the machine's shared
services. The application processes themselves (gunicorn, dramatiq, scheduler) are
started by devstack/processes.py; these are the services underneath them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import psycopg2
import redis

from devstack.processes import free_port, wait_for


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
