"""Process configuration, read from the environment once and then frozen."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

Mode = Literal["embedded", "distributed"]
_N = TypeVar("_N", int, float)


class SettingError(ValueError):
    """A setting that cannot be read; its message is the one line a process prints at start."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, got {raw!r}") from None


def key_list(raw: str | None) -> tuple[str, ...]:
    """`ROUTINES_SECRET_KEY` is a comma-separated list, newest first. Entries are kept
    verbatim (a key is hashed exactly as written, as before lists existed); blank ones
    are dropped."""
    return tuple(key for key in (raw or "").split(",") if key.strip())


def _limit_ms(env: dict[str, str], name: str, default: int) -> int:
    return _no_negative_limit(name, _int(env, name, default))


def _limit_seconds(env: dict[str, str], name: str, default: float) -> float:
    return _no_negative_limit(name, _float(env, name, default))


def _no_negative_limit(name: str, value: _N) -> _N:
    """A time limit is 0 (none) or positive; a negative one is an error at start-up
    rather than a connection refused by PostgreSQL later."""
    if value < 0:
        raise SettingError(f"{name} must be 0 (no limit) or positive, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to connect and behave; tests build their own."""

    database_url: str
    redis_url: str | None
    admin_token: str | None
    #: Comma-separated keys for stored secrets: the first seals, every one opens.
    secret_key: str | None
    public_url: str = "http://127.0.0.1:3100"
    #: Upper bound on any request body, in bytes (413 above it).
    body_limit: int = 1024 * 1024
    #: Key prefix for Dramatiq's Redis keys, so that test runs never collide.
    broker_namespace: str = "routines"
    #: A run still `received` this long after it was recorded is enqueued again.
    sweep_after_seconds: float = 30.0
    #: How often the scheduler loop wakes up.
    scheduler_interval_seconds: float = 1.0
    #: Runs older than this many days are deleted by the scheduler, but for those still
    #: needed (shared/runs/retention.py); 0 = keep every run for ever.
    run_retention_days: int = 90
    #: A schedule tick recorded later than this after its time is "missed" and follows
    #: the routine's catch-up policy (API.md 7).
    catch_up_grace_seconds: float = 60.0
    #: Dramatiq worker heartbeat timeout (ms): how soon a dead worker's messages are requeued.
    broker_heartbeat_timeout_ms: int = 60_000
    #: Public fires allowed per minute per trigger and per client address (0 = off).
    rate_limit_per_trigger: int = 600
    rate_limit_per_client: int = 1200
    #: Proxies in front of the web pods whose X-Forwarded-For is trusted (0 = none).
    proxy_hops: int = 0
    #: Requests of one web process that may wait for a decision (`Prefer: wait`) at
    #: once; each holds a thread. Beyond it they are answered at once (0 = never wait).
    wait_max_waiters: int = 2
    #: A web process gathers accepted webhook runs this long (ms) and sends them to the
    #: workers as one message (distributed mode; 0 = one message per fire).
    enqueue_linger_ms: float = 20.0
    #: Off only to prove that correctness does not depend on the leader lease.
    scheduler_lease: bool = True
    data_dir: str | None = None
    #: PostgreSQL cancels any statement running longer than this (ms; 0 = no limit). Every
    #: statement of a request or a decision is small, and every read is bounded by its
    #: page whatever the history (tests/integration/test_bounded_reads.py). The client
    #: gives up a second later even if the server cannot answer at all (shared/platform/db.py).
    db_statement_timeout_ms: int = 5_000
    #: A statement waiting this long for a row lock fails (ms; 0 = wait as long as the
    #: statement may). Decisions hold a routine's lock for milliseconds.
    db_lock_timeout_ms: int = 3_000
    #: PostgreSQL ends a session left idle inside a transaction this long (ms; 0 = never),
    #: so that a stuck client cannot hold its row locks.
    db_idle_in_transaction_timeout_ms: int = 10_000
    #: A new connection not ready within this many seconds is abandoned (0 = wait).
    db_connect_timeout_seconds: float = 3.0

    @property
    def secret_keys(self) -> tuple[str, ...]:
        return key_list(self.secret_key)

    @property
    def mode(self) -> Mode:
        return "distributed" if self.redis_url else "embedded"

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = env.get("ROUTINES_DATA_DIR") or ".routines"
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir}/routines.db"
        return cls(
            database_url=_normalize_database_url(database_url),
            redis_url=env.get("REDIS_URL") or None,
            admin_token=env.get("ROUTINES_ADMIN_TOKEN") or None,
            secret_key=_secret_key(env),
            public_url=(env.get("ROUTINES_PUBLIC_URL") or "http://127.0.0.1:3100").rstrip("/"),
            body_limit=_int(env, "ROUTINES_BODY_LIMIT", 1024 * 1024),
            broker_namespace=env.get("ROUTINES_BROKER_NAMESPACE") or "routines",
            sweep_after_seconds=_float(env, "ROUTINES_SWEEP_AFTER_SECONDS", 30.0),
            scheduler_interval_seconds=_float(env, "ROUTINES_SCHEDULER_INTERVAL_SECONDS", 1.0),
            run_retention_days=_no_negative_limit(
                "ROUTINES_RUN_RETENTION_DAYS", _int(env, "ROUTINES_RUN_RETENTION_DAYS", 90)
            ),
            catch_up_grace_seconds=_float(env, "ROUTINES_CATCH_UP_GRACE_SECONDS", 60.0),
            broker_heartbeat_timeout_ms=_int(env, "ROUTINES_BROKER_HEARTBEAT_TIMEOUT_MS", 60_000),
            scheduler_lease=env.get("ROUTINES_SCHEDULER_LEASE", "on") != "off",
            rate_limit_per_trigger=_int(env, "ROUTINES_RATE_LIMIT_PER_TRIGGER", 600),
            rate_limit_per_client=_int(env, "ROUTINES_RATE_LIMIT_PER_CLIENT", 1200),
            proxy_hops=_int(env, "ROUTINES_PROXY_HOPS", 0),
            wait_max_waiters=_int(env, "ROUTINES_WAIT_MAX_WAITERS", 2),
            enqueue_linger_ms=_limit_ms(env, "ROUTINES_ENQUEUE_LINGER_MS", 20),
            data_dir=data_dir,
            db_statement_timeout_ms=_limit_ms(env, "ROUTINES_DB_STATEMENT_TIMEOUT_MS", 5_000),
            db_lock_timeout_ms=_limit_ms(env, "ROUTINES_DB_LOCK_TIMEOUT_MS", 3_000),
            db_idle_in_transaction_timeout_ms=_limit_ms(
                env, "ROUTINES_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 10_000
            ),
            db_connect_timeout_seconds=_limit_seconds(
                env, "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS", 3.0
            ),
        )


def _secret_key(env: dict[str, str]) -> str | None:
    """A list without a key is no key at all: the embedded mode then generates its own,
    and the distributed processes refuse to start."""
    raw = env.get("ROUTINES_SECRET_KEY")
    return raw if key_list(raw) else None


def _normalize_database_url(url: str) -> str:
    """Accept the `postgres://` spelling that hosting platforms hand out."""
    if url.startswith("postgres://"):
        return "postgresql+psycopg2://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url
