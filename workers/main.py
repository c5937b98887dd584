"""Entry point for `dramatiq workers.main:setup` (the distributed worker process).

Dramatiq forks several worker processes; their metrics are summed through files
in PROMETHEUS_MULTIPROC_DIR, which must be set before prometheus_client is first
imported, hence the environment is settled before the other imports.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable
from types import FrameType

os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.environ.get("dramatiq_prom_db")  # noqa: SIM112 (dramatiq's own spelling)
    or os.path.join(tempfile.gettempdir(), "dramatiq-prometheus"),
)
os.environ.setdefault("dramatiq_prom_db", os.environ["PROMETHEUS_MULTIPROC_DIR"])

import dramatiq
from dramatiq.middleware.prometheus import Prometheus

from shared.platform.config_check import exit_if_misconfigured
from shared.platform.logs import configure_logging
from shared.platform.probes import probe_server
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from workers.actors import register

#: Port of the worker pod's /metrics, /health/live and /health (one server per pod).
METRICS_PORT = int(os.environ.get("ROUTINES_METRICS_PORT", "9191"))
#: SIGTERMs this close together are one request to stop, not "stop, then kill now".
SIGTERM_DEBOUNCE_SECONDS = 2.0


class RoutinesPrometheus(Prometheus):
    """Dramatiq's own metrics, exposed by our probe server (which adds health checks)
    instead of its metrics-only one."""

    @property
    def forks(self) -> list[Callable[[], int]]:
        return [_serve_probes]


def _serve_probes() -> int:
    configure_logging("worker-probes")
    runtime = build_runtime(Settings.from_env())
    probe_server(METRICS_PORT, lambda: runtime).serve_forever()
    return 0


def _one_stop_per_sigterm_burst() -> None:
    """dramatiq's worker process stops gracefully on its first SIGTERM and exits at once
    (no requeue of its prefetched messages) on the second. A SIGTERM to the whole
    process group (honcho, systemd, `kill -TERM -PGID`) gives it two at once: its own
    and the one dramatiq's main process forwards. Count a burst as one; a SIGTERM sent
    deliberately later still means "kill now"."""
    dramatiq_handler = signal.getsignal(signal.SIGTERM)
    if not callable(dramatiq_handler):
        return
    last: float | None = None

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal last
        now = time.monotonic()
        if last is not None and now - last < SIGTERM_DEBOUNCE_SECONDS:
            return
        last = now
        dramatiq_handler(signum, frame)

    signal.signal(signal.SIGTERM, handler)


def setup() -> None:
    """Called by the dramatiq CLI in each worker process before it consumes. A refused
    configuration exits this process with status 2; dramatiq's main process then stops
    and exits with the same status."""
    exit_if_misconfigured("worker")
    _one_stop_per_sigterm_burst()
    configure_logging("worker")
    runtime: Runtime = build_runtime(Settings.from_env())
    runtime.broker.add_middleware(RoutinesPrometheus())
    dramatiq.set_broker(runtime.broker)
    register(runtime)
