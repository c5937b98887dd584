"""The no-op ceiling of bench/fire.py: a Flask app that reads the body and answers.

Served by gunicorn with the web process's own settings (`python:web.gunicorn_conf`,
the same --workers and WEB_THREADS), and hit by wrk with the very requests sent to the
webhook endpoint, so the ratio fires/s : no-op requests/s is what the application itself
costs over Flask + gunicorn + HTTP on this machine.

    gunicorn --config python:web.gunicorn_conf --workers 2 bench.noop_app:app
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
@app.route("/<path:path>", methods=["GET", "POST"])
def noop(path: str) -> Any:
    request.get_data()
    if request.method == "GET":
        return {"status": "ok"}, 200
    return {"status": "received", "path": path}, 202
