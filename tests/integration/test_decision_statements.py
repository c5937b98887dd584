"""Deciding runs on statements each PostgreSQL connection prepares once
(shared.platform.prepared): a server session that forgets them costs one retried
transaction, never a run."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from devstack.api import Api
from shared.platform.metrics import DISPATCH_ERRORS
from shared.platform.runtime import Runtime
from tests.integration.test_batch_decisions import fire_many, routine_in
from tests.support.statements import statements_sent

RESYNC = "DEALLOCATE ALL"


def forget_prepared_statements(runtime: Runtime, *, then: str | None = None) -> int:
    """DISCARD ALL on every idle connection of the pool, behind SQLAlchemy's back (as a
    pooler resetting the server session would): each still believes its statements are
    prepared. With `then`, each connection believes it is new instead, and its session
    holds `then` (another's statement). Returns how many connections lost some."""
    pool = runtime.engine.pool
    held = [pool.connect() for _ in range(pool.checkedin())]  # type: ignore[attr-defined]
    lost = 0
    try:
        for fairy in held:
            raw = fairy.dbapi_connection
            raw.autocommit = True
            cursor = raw.cursor()
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            lost += cursor.fetchone()[0] > 0
            cursor.execute("DISCARD ALL")
            if then is not None:
                cursor.execute(then)
                fairy.info.pop("prepared", None)
            cursor.close()
            raw.autocommit = False
    finally:
        for fairy in held:
            fairy.close()
    return lost


def statuses(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as connection:
        query = text("SELECT status FROM routine_runs ORDER BY created_at, id")
        return list(connection.execute(query).scalars())


def transient_errors() -> float:
    return DISPATCH_ERRORS.labels("transient")._value.get()  # type: ignore[no-any-return]


def test_runs_are_decided_after_the_server_forgot_the_prepared_statements(
    api: Api, runtime: Runtime, drain: Callable[[], None]
) -> None:
    """Between two batches on the same connections: the first after the loss fails as a
    lost server does and its message is retried; the connection then deallocates whatever
    its server session holds, prepares again, and decides."""
    routine = routine_in(api, concurrencyPolicy="coalesce_if_active")
    fire_many(api, routine, 2)
    drain()  # the worker's connection prepares the decision's statements
    fire_many(api, routine, 3)
    assert forget_prepared_statements(runtime) >= 1
    errors = transient_errors()

    with statements_sent(runtime) as sent:
        drain()

    assert statuses(runtime) == ["issue_created"] + ["coalesced"] * 4
    assert transient_errors() > errors
    assert RESYNC in sent
    assert any(statement.startswith("PREPARE routines_decide_") for statement in sent)


def test_a_connection_whose_server_session_holds_a_statement_of_the_same_name_decides(
    api: Api, runtime: Runtime, drain: Callable[[], None]
) -> None:
    """A new connection handed a used server session (a pooler without a reset): its own
    PREPARE clashes with what the session holds, which is deallocated, not executed."""
    routine = routine_in(api, concurrencyPolicy="always_enqueue")
    fire_many(api, routine, 1)
    drain()
    fire_many(api, routine, 2)
    squatter = "PREPARE routines_decide_routines_of AS SELECT 1 AS routine_id, 2 AS created_at"
    assert forget_prepared_statements(runtime, then=squatter) >= 1

    with statements_sent(runtime) as sent:
        drain()

    assert statuses(runtime) == ["issue_created"] * 3
    assert RESYNC in sent
