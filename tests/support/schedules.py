"""Many schedule triggers at once, for tests about pages and scans."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from shared.models import RoutineTrigger
from shared.platform.db import transaction
from shared.platform.runtime import Runtime


def copy_trigger(runtime: Runtime, like: uuid.UUID, count: int) -> list[uuid.UUID]:
    """`count` copies of a schedule trigger, due at the same tick, in one statement."""
    with transaction(runtime.sessions) as session:
        source = session.get(RoutineTrigger, like)
        assert source is not None
        rows = [
            {
                "id": uuid.uuid4(),
                "company_id": source.company_id,
                "routine_id": source.routine_id,
                "kind": "schedule",
                "enabled": True,
                "cron_expression": source.cron_expression,
                "timezone": source.timezone,
                "next_run_at": source.next_run_at,
                "created_at": source.created_at,
                "updated_at": source.updated_at,
            }
            for _ in range(count)
        ]
        session.execute(insert(RoutineTrigger), rows)
    return [row["id"] for row in rows]
