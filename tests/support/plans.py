"""What PostgreSQL does for a statement: capture the statements a call sends, explain them
with their parameters, and count the rows each table's scans went through."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

Statement = tuple[str, Any]


def statements_of(engine: Engine, call: Callable[[], object]) -> list[Statement]:
    """Every statement `call` sends through `engine`, with its parameters as the driver got them."""
    sent: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return sent


def plan_of(engine: Engine, statement: str, parameters: Any) -> dict[str, Any]:
    """The executed plan (EXPLAIN ANALYZE) of one read."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters)
        explained = cursor.fetchone()[0]
    finally:
        connection.close()
    explained = json.loads(explained) if isinstance(explained, str) else explained
    return dict(explained[0]["Plan"])


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def indexes_of(engine: Engine, table: str) -> set[str]:
    with engine.connect() as connection:
        query = text("SELECT indexname FROM pg_indexes WHERE tablename = :table")
        return set(connection.execute(query, {"table": table}).scalars())


def rows_read(node: dict[str, Any]) -> float:
    """Rows a scan node went through, kept or thrown away, over all its loops."""
    seen = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
    return float((seen + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"])


def scans_of(plan: dict[str, Any], table: str, indexes: set[str]) -> list[dict[str, Any]]:
    """The nodes of `plan` that read `table`, directly or through one of its indexes."""
    return [
        node
        for node in nodes(plan)
        if node.get("Relation Name") == table or node.get("Index Name") in indexes
    ]
