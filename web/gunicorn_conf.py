"""gunicorn settings for the web process (`gunicorn -c python:web.gunicorn_conf`)."""

import os

#: Threads per worker: requests mostly wait on PostgreSQL, so a few threads help.
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread"
#: Give in-flight requests time to finish on SIGTERM before the pod goes away.
graceful_timeout = 20
timeout = 60
keepalive = 5
accesslog = None
