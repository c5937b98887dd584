"""Entry point for `dramatiq workers.main:setup` (the distributed worker process)."""

from __future__ import annotations

import dramatiq

from shared.logs import configure_logging
from shared.runtime import build_runtime
from shared.settings import Settings
from workers.actors import register


def setup() -> None:
    """Called by the dramatiq CLI in each worker process before it consumes."""
    configure_logging("worker")
    runtime = build_runtime(Settings.from_env())
    dramatiq.set_broker(runtime.broker)
    register(runtime)
