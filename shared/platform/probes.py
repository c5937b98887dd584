"""A tiny HTTP server for processes that have no web app of their own (worker,
scheduler): /metrics for Prometheus, /health/live and /health for Kubernetes."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from shared.platform.health import readiness
from shared.platform.metrics import exposition
from shared.platform.runtime import Runtime

log = logging.getLogger(__name__)


def probe_server(
    port: int,
    runtime: Callable[[], Runtime],
    host: str = "0.0.0.0",  # noqa: S104 (pods are reached on their pod IP)
) -> ThreadingHTTPServer:
    """Bind now (so a taken port fails at start), serve when the caller says."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                body, content_type = exposition(runtime().broker)
                self._send(200, body, content_type)
            elif self.path == "/health/live":
                self._json(200, {"status": "ok"})
            elif self.path == "/health":
                checks = readiness(runtime())
                failed = [c.name for c in checks if not c.ok]
                payload = {
                    "status": "ok" if not failed else "unavailable",
                    "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
                }
                self._json(200 if not failed else 503, payload)
            else:
                self._json(404, {"error": "Not found"})

        def _json(self, status: int, payload: object) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="probes", daemon=True)
    thread.start()
    return thread
