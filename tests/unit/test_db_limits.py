"""How the database settings become the client's own deadlines (shared/db.py)."""

from __future__ import annotations

from shared.db import DEADLINE_GRACE_SECONDS, client_limits
from shared.settings import Settings


def test_the_client_waits_a_little_longer_than_the_statement_timeout() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_STATEMENT_TIMEOUT_MS": "2500"}))
    assert limits.statement == 2.5 + DEADLINE_GRACE_SECONDS
    assert limits.connect == 3.0


def test_a_ping_waits_no_longer_than_a_new_connection() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "1.5"}))
    assert limits.ping == 1.5


def test_a_limit_of_zero_lets_the_client_wait_for_ever() -> None:
    env = {"ROUTINES_DB_STATEMENT_TIMEOUT_MS": "0", "ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "0"}
    limits = client_limits(Settings.from_env(env))
    assert (limits.statement, limits.connect, limits.ping) == (None, None, None)


def test_without_a_connect_timeout_a_ping_waits_as_long_as_a_statement() -> None:
    limits = client_limits(Settings.from_env({"ROUTINES_DB_CONNECT_TIMEOUT_SECONDS": "0"}))
    assert limits.ping == limits.statement == 5.0 + DEADLINE_GRACE_SECONDS
