"""`python -m scheduler`: the distributed scheduler process."""

from __future__ import annotations

import signal
import threading

from scheduler.loop import Scheduler
from shared.logs import configure_logging
from shared.runtime import build_runtime
from shared.settings import Settings


def main() -> None:
    configure_logging("scheduler")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Scheduler(build_runtime(Settings.from_env())).run(stop)


if __name__ == "__main__":
    main()
