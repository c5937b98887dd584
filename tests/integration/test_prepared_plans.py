"""A prepared statement's cached plan follows a table that grows (shared.platform.prepared):
PostgreSQL caches the plan it made while the table was empty, and a connection that
prepares the statement again once it is REPLAN_AFTER_S old lets it plan for the table as
it is now."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, bindparam, column, select, table, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer

from shared.platform.prepared import REPLAN_AFTER_S, Prepared
from shared.platform.runtime import Runtime
from tests.support.statements import statements_sent

PROBE = table("plan_probe", column("id", Integer), column("note", Integer))
#: More executions than PostgreSQL plans for their own values before it caches a plan.
PAST_CUSTOM_PLANS = 8


class Ticks:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def probe(runtime: Runtime) -> Iterator[Connection]:
    with runtime.engine.connect() as connection:
        connection.execute(text("CREATE TABLE plan_probe (id integer PRIMARY KEY, note integer)"))
        connection.execute(text("ANALYZE plan_probe"))  # known empty, as a new install is
        connection.commit()
        try:
            yield connection
        finally:
            connection.rollback()
            connection.execute(text("DROP TABLE plan_probe"))
            connection.commit()


def plan_of(connection: Connection, name: str) -> str:
    explained = connection.exec_driver_sql(f"EXPLAIN EXECUTE {name}(ARRAY[5, 7])")
    return "\n".join(row[0] for row in explained)


def test_a_statement_planned_on_an_empty_table_is_planned_again_once_it_has_grown(
    runtime: Runtime, probe: Connection
) -> None:
    ticks = Ticks()
    wanted = bindparam("ids", type_=ARRAY(Integer))
    statement = Prepared(
        "routines_test_plan_probe",
        select(PROBE.c.note).where(PROBE.c.id == wanted.any_()),
        clock=ticks,
    )
    for _ in range(PAST_CUSTOM_PLANS):
        statement.rows(probe, {"ids": [5, 7]})
    probe.execute(text("INSERT INTO plan_probe SELECT n, n FROM generate_series(1, 50000) n"))
    probe.commit()
    assert "Seq Scan" in plan_of(probe, statement.name)  # cached while the table was empty

    ticks.now += REPLAN_AFTER_S - 0.1
    with statements_sent(runtime) as sent:
        statement.rows(probe, {"ids": [5, 7]})
    assert not any("PREPARE" in sql for sql in sent)

    ticks.now += 0.1
    with statements_sent(runtime) as sent:
        for _ in range(PAST_CUSTOM_PLANS):
            assert statement.rows(probe, {"ids": [5, 7]}) == [(5,), (7,)]
    assert sum("PREPARE routines_test_plan_probe" in sql for sql in sent) == 1
    assert "Index" in plan_of(probe, statement.name)
    assert "Seq Scan" not in plan_of(probe, statement.name)
