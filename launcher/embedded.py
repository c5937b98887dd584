"""Embedded mode: API, worker and scheduler in one process, on SQLite and an
in-process broker, so that `routines up` works with nothing else installed."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import dramatiq
from waitress.server import TcpWSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

from scheduler.loop import Scheduler
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from web.app import create_app
from workers.actors import register

log = logging.getLogger(__name__)

#: Worker threads of the in-process worker; SQLite serializes writers anyway.
WORKER_THREADS = 2
#: Threads that run requests. waitress reads a whole request before it hands it to one,
#: so a slow or idle client holds no thread, and a few are enough.
HTTP_THREADS = 8


def embedded_settings(settings: Settings) -> Settings:
    """Fill in what the embedded mode generates once and keeps beside the database."""
    data_dir = Path(settings.data_dir or ".routines")
    data_dir.mkdir(parents=True, exist_ok=True)
    return settings.with_overrides(
        admin_token=settings.admin_token or _kept_secret(data_dir / "admin-token"),
        secret_key=settings.secret_key or _kept_secret(data_dir / "secret-key"),
        # A broker-less run is recorded durably; sweep it soon since nobody else will.
        sweep_after_seconds=min(settings.sweep_after_seconds, 10.0),
    )


def _kept_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


class EmbeddedService:
    """Everything in one process; `start` returns once the port is bound."""

    def __init__(self, settings: Settings, *, host: str, port: int) -> None:
        if "ROUTINES_PUBLIC_URL" not in os.environ:
            # Webhook URLs must point at where this process actually listens.
            settings = settings.with_overrides(public_url=f"http://{host}:{port}")
        self.settings = embedded_settings(settings)
        upgrade_to_head(self.settings)
        self.runtime: Runtime = build_runtime(self.settings)
        register(self.runtime)
        self.worker = dramatiq.Worker(self.runtime.broker, worker_threads=WORKER_THREADS)
        self.stop_event = threading.Event()
        self.scheduler = threading.Thread(
            target=Scheduler(self.runtime).run, args=(self.stop_event,), daemon=True
        )
        app = create_app(runtime=self.runtime)
        self.server = http_server(app, host=host, port=port)

    @property
    def url(self) -> str:
        host, port = self.server.getsockname()
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.worker.start()
        self.scheduler.start()
        try:
            self.server.run()
        finally:
            self.server.close()
            self.shutdown()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.worker.stop(timeout=5000)


def http_server(app: WSGIApplication, *, host: str, port: int) -> TcpWSGIServer:
    """A production WSGI server (waitress, pure Python) bound to host:port; `run()` serves.
    werkzeug's development server gave every connection a thread of its own and logged
    each request a second time, with ANSI colours."""
    return TcpWSGIServer(app, host=host, port=port, threads=HTTP_THREADS, ident="routines")


def serve_app(app: WSGIApplication, *, host: str, port: int) -> None:
    """Serve `app` as the embedded mode does (the ceiling of bench/embedded.py)."""
    http_server(app, host=host, port=port).run()


def banner(service: EmbeddedService) -> str:
    token = service.settings.admin_token
    return "\n".join(
        [
            f"Routines is running in embedded mode on {service.url}",
            f"Data directory: {Path(service.settings.data_dir or '.routines').resolve()}",
            f"Admin token: {token}",
            "Try:",
            f"  curl -s -X POST {service.url}/api/companies \\",
            f"    -H 'Authorization: Bearer {token}' \\",
            "    -H 'Content-Type: application/json' -d '{\"name\": \"Acme\"}'",
            "",
        ]
    )
