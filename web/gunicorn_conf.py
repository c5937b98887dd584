"""gunicorn settings for the web process (`gunicorn -c python:web.gunicorn_conf`)."""

import os
import tempfile

from shared.platform.config_check import exit_if_misconfigured

# The master reads this file before anything else: a misconfigured web process stops
# here with one line, before any worker is forked.
exit_if_misconfigured("web")

#: Metrics of all gunicorn workers are summed through files here; set before any
#: worker imports prometheus_client (this file is read by the master first).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="routines-web-metrics-"))

#: Threads per worker: requests mostly wait on PostgreSQL, and the deliveries a process
#: has in hand at once are inserted together (shared.platform.grouping), so a delivery
#: costs less the more a process holds. With 16 instead of 4, two processes answered
#: 1.7 times the webhook fires at 0.6 times the CPU per fire (README, "Web and worker threads").
threads = int(os.environ.get("WEB_THREADS", "16"))
worker_class = "gthread"
#: Give in-flight requests time to finish on SIGTERM before the pod goes away.
graceful_timeout = 20
timeout = 60
keepalive = 5
accesslog = None
#: gunicorn's own lines (start-up, worker boots and exits, errors) in the service's format.
logger_class = "web.gunicorn_logging.ServiceFormatLogger"


def child_exit(_server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]


#: Each worker listens on a socket of its own in one SO_REUSEPORT group (gunicorn binds
#: them after the fork), so the kernel spreads new connections over the workers by their
#: addresses. With one shared socket, the worker that is up or awake first accepts a whole
#: burst: all 32 keep-alive connections of a load generator, or of an edge's upstream
#: pool, could land on one worker, which then serves them on one core's worth of GIL
#: while the other idles (the no-op ceiling of bench/fire.py came out at 2,200 instead of
#: about 5,000 req/s in one run of two). The price: connections still queued on a worker
#: that stops are reset rather than taken by another (Linux's tcp_migrate_req moves them).
reuse_port = True
