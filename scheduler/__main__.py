"""`python -m scheduler`: the distributed scheduler process."""

from __future__ import annotations

import os
import signal
import threading

from scheduler.lease import AlwaysLeader, Lease, RedisLease
from scheduler.loop import Scheduler
from shared.platform.config_check import exit_if_misconfigured
from shared.platform.logs import configure_logging
from shared.platform.probes import probe_server, serve_in_thread
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from shared.schedules.leadership import lease_key

#: Port of the scheduler pod's /metrics, /health/live and /health.
METRICS_PORT = int(os.environ.get("ROUTINES_METRICS_PORT", "9300"))
#: Lease lifetime: a few scheduler ticks, so a dead leader is replaced within seconds.
LEASE_TTL_MS = 5_000


def build_lease(runtime: Runtime) -> Lease:
    settings = runtime.settings
    if runtime.redis is None or not settings.scheduler_lease:
        return AlwaysLeader()
    return RedisLease(runtime.redis, lease_key(settings), ttl_ms=LEASE_TTL_MS)


def main() -> None:
    exit_if_misconfigured("scheduler")
    configure_logging("scheduler")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings = Settings.from_env()
    runtime = build_runtime(settings)
    serve_in_thread(probe_server(METRICS_PORT, lambda: runtime))
    Scheduler(runtime, build_lease(runtime)).run(stop)


if __name__ == "__main__":
    main()
