"""The PostgreSQL ceiling a fire is measured against: single-row INSERT + COMMIT from
one connection."""

from __future__ import annotations

import time
import uuid
from typing import Any


def pg_insert_ceiling(
    database_url: str, *, count: int, max_seconds: float, temporary: bool = True
) -> dict[str, Any]:
    """Single-row INSERT + COMMIT from one psycopg2 connection; into a temp table (not
    WAL-logged, so COMMIT waits for no flush) or an ordinary one (COMMIT waits for the
    WAL flush, as the service's own commits do)."""
    import psycopg2

    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://")
    connection = psycopg2.connect(dsn)
    table = "bench_ceiling" if temporary else f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    try:
        cursor = connection.cursor()
        cursor.execute(
            f"CREATE {'TEMP ' if temporary else ''}TABLE {table} (id uuid PRIMARY KEY, "
            "payload text, created_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.commit()
        done = 0
        started = time.perf_counter()
        while done < count and time.perf_counter() - started < max_seconds:
            cursor.execute(
                f"INSERT INTO {table} (id, payload) VALUES (%s, %s)",
                (str(uuid.uuid4()), f"row {done}"),
            )
            connection.commit()
            done += 1
        elapsed = time.perf_counter() - started
        if not temporary:
            cursor.execute(f"DROP TABLE {table}")
            connection.commit()
    finally:
        connection.close()
    return {
        "rows": done,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(done / elapsed, 1),
        "table": "temporary (no WAL flush at COMMIT)" if temporary else "ordinary (WAL flush)",
        "note": "one connection; one round trip per INSERT and one per COMMIT",
    }
