"""A steady load of fires over HTTP for fault tests, each request's outcome recorded
(a timeout or a dropped connection included) instead of raised."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from devstack.api import Api, HttpTransport


@dataclass(frozen=True)
class Outcome:
    """One request of a load: its status (None when it raised or timed out), when it
    started (time.monotonic()) and how long it took."""

    status: int | None
    seconds: float
    run_id: str | None = None
    error: str | None = None
    body: Any = None
    at: float = 0.0


def timed_call(call: Callable[[], Any]) -> Outcome:
    """Run one request; a timeout or a dropped connection is an Outcome, not a raise."""
    started = time.monotonic()
    try:
        response = call()
    except Exception as error:
        elapsed = time.monotonic() - started
        return Outcome(None, elapsed, error=f"{type(error).__name__}: {error}", at=started)
    body = response.body
    run_id = body.get("id") if response.status == 202 and isinstance(body, dict) else None
    return Outcome(response.status, time.monotonic() - started, run_id, body=body, at=started)


class FireLoad:
    """Fires at `rate` per second, round-robin over `targets` (callables that make one
    request), each request on its own client thread so that a slow answer does not
    slow the load down, until stopped; `outcomes` in the order sent."""

    def __init__(self, targets: list[Callable[[], Any]], *, rate: float, clients: int = 64) -> None:
        self.targets = targets
        self.interval = 1.0 / rate
        self._pool = ThreadPoolExecutor(clients, thread_name_prefix="fire-load")
        self._futures: list[Future[Outcome]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fire-load", daemon=True)

    def __enter__(self) -> FireLoad:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def stop(self) -> list[Outcome]:
        """Stop sending and wait for every answer (each has its own client timeout)."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._pool.shutdown(wait=True)
        return self.outcomes

    @property
    def outcomes(self) -> list[Outcome]:
        return [f.result() for f in list(self._futures) if f.done()]

    def _run(self) -> None:
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            target = self.targets[n % len(self.targets)]
            self._futures.append(self._pool.submit(timed_call, target))
            n += 1
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def fire_burst(
    api: Api, routine_id: str, n: int, *, threads: int = 50, **body: Any
) -> list[Outcome]:
    """`n` manual runs of one routine at once from `threads` client threads."""
    path = f"/api/routines/{routine_id}/run"
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(lambda _: timed_call(lambda: api.post(path, body)), range(n)))


def hmac_headers(secret: str, body: bytes) -> dict[str, str]:
    """Headers of a `hmac_sha256` webhook fire signed now (API.md 5.3)."""
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "X-Paperclip-Timestamp": timestamp,
        "X-Paperclip-Signature": f"sha256={digest.hexdigest()}",
    }


def http_api(port: int, *, timeout: float = 30, token: str | None = "admin-test-token") -> Api:
    return Api(HttpTransport(f"http://127.0.0.1:{port}", timeout=timeout), token=token)
