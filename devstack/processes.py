"""Starting and stopping the real processes (gunicorn, dramatiq, scheduler, the
embedded launcher) on loopback, so that each end-to-end test and each benchmark reads
as its scenario."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status < 500)
    except (urllib.error.URLError, OSError):
        return False


class Process:
    """A child process in its own process group, its output kept in a log file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.popen.wait(5)
        self._log.close()
        return code

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(10)


def distributed_env(
    database_url: str, redis_url: str, namespace: str, **extra: str
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ROUTINES_BROKER_NAMESPACE": namespace,
        "ROUTINES_ADMIN_TOKEN": "admin-test-token",
        "ROUTINES_SECRET_KEY": "test-secret-key",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start_web(env: Mapping[str, str], log_dir: Path, *, port: int, workers: int = 2) -> Process:
    # The deployed command (Procfile, image, k8s): gunicorn with web.gunicorn_conf.
    argv = [str(BIN / "routines"), "web", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    folder = log_dir / "web-metrics"
    folder.mkdir(exist_ok=True)
    process = Process("web", argv, {"PROMETHEUS_MULTIPROC_DIR": str(folder), **env}, log_dir)
    _wait_alive(process, f"http://127.0.0.1:{port}/api/health/live", timeout=30)
    return process


def start_edge(
    log_dir: Path, *, port: int, upstream_port: int, settings: Mapping[str, str] | None = None
) -> Process:
    """nginx with the repository's deploy/nginx.conf, as the Procfile's edge runs it, in
    front of web on `upstream_port`; `settings` give directives other values (a short
    keepalive_timeout), each of which the file must already set exactly once."""
    from launcher import edge

    template = (ROOT / "deploy" / "nginx.conf").read_text()
    config = edge.render(
        template, listen=f"127.0.0.1:{port}", upstream=f"127.0.0.1:{upstream_port}"
    )
    for directive, value in (settings or {}).items():
        config = _set_directive(config, directive, value)
    prefix = log_dir / "edge"
    argv = edge.nginx_argv(edge.prepare(prefix, config), prefix)
    process = Process("edge", argv, {}, log_dir)
    _wait_alive(process, f"http://127.0.0.1:{port}/api/health/live", timeout=30)
    return process


def _set_directive(config: str, directive: str, value: str) -> str:
    pattern = re.compile(rf"^(\s*{re.escape(directive)}) [^;]+;", re.M)
    lines = pattern.findall(config)
    if len(lines) != 1:
        raise ValueError(f"deploy/nginx.conf sets {directive} {len(lines)} times, not once")
    return pattern.sub(f"{lines[0]} {value};", config)


def start_worker(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    name: str = "worker",
    processes: int = 1,
    threads: int = 2,
) -> Process:
    # The deployed command (Procfile, image, k8s): dramatiq's own command line, run by
    # `routines worker` after the logging is set up (see launcher/cli.py).
    argv = [str(BIN / "routines"), "worker", "--processes", str(processes)]
    argv += ["--threads", str(threads)]
    return Process(name, argv, {**own_metrics(log_dir, name), **env}, log_dir)


def start_scheduler(env: Mapping[str, str], log_dir: Path, *, name: str = "scheduler") -> Process:
    return Process(
        name, [sys.executable, "-m", "scheduler"], {**own_metrics(log_dir, name), **env}, log_dir
    )


def own_metrics(log_dir: Path, name: str) -> dict[str, str]:
    """A free metrics port and a private multi-process metrics folder per process, so
    parallel test stacks never share them."""
    folder = log_dir / f"{name}-metrics"
    folder.mkdir(exist_ok=True)
    return {
        "ROUTINES_METRICS_PORT": str(free_port()),
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
        "dramatiq_prom_db": str(folder),
    }


def run_release(env: Mapping[str, str]) -> None:
    subprocess.run(
        [str(BIN / "routines"), "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


def _wait_alive(process: Process, url: str, *, timeout: float) -> None:
    def ready() -> bool:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.output()[-3000:]}")
        return answers(url)

    wait_for(ready, timeout=timeout, what=f"{process.name} at {url}")


@contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in processes:
            process.stop()


def start_embedded(
    data_dir: Path, log_dir: Path, *, port: int, env: Mapping[str, str] | None = None
) -> Process:
    """`routines up`, the entry point of `make run`, with nothing but a data folder."""
    settings = {
        "ROUTINES_DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    blank = dict.fromkeys(("DATABASE_URL", "REDIS_URL", "ROUTINES_ADMIN_TOKEN"), "")
    argv = [str(BIN / "routines"), "up", "--port", str(port)]
    process = Process("embedded", argv, {**blank, **settings}, log_dir)
    _wait_alive(process, f"http://127.0.0.1:{port}/api/health/live", timeout=60)
    return process


def metrics_url(process: Process) -> str:
    return f"http://127.0.0.1:{process.env['ROUTINES_METRICS_PORT']}"


def scrape(url: str) -> dict[str, float]:
    """Prometheus text as {'name{labels}': value}, for assertions."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
