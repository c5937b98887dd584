"""The fuzz's budget and the world every example starts from (tests/integration/fuzz/)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from devstack.api import Api

if TYPE_CHECKING:
    from tests.support.fuzz_requests import Call


#: Examples per operation; CI keeps the default, `ROUTINES_FUZZ_EXAMPLES=500` digs deeper.
EXAMPLES = int(os.environ.get("ROUTINES_FUZZ_EXAMPLES") or 30)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    # Bodies of a megabyte and 100 000 brackets are the point, not a slow generator.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LIMIT = 1024 * 1024
WRITE_METHODS = {"post", "patch", "put"}


class FuzzWorld:
    """Not a dataclass: hypothesis prints every argument of a failing example, and this
    one holds the whole OpenAPI document."""

    def __init__(
        self, client: Any, doc: dict[str, Any], ids: dict[str, list[str]], tokens: list[str]
    ) -> None:
        self.client = client
        self.doc = doc
        #: Path parameter name -> ids that exist.
        self.ids = ids
        self.tokens = tokens
        self.strategies: dict[tuple[str, str], st.SearchStrategy[Call]] = {}

    def __repr__(self) -> str:
        return f"FuzzWorld(ids={self.ids!r})"

    @property
    def every_id(self) -> list[str]:
        return sorted({i for ids in self.ids.values() for i in ids})


def add_trigger(api: Api, routine: dict[str, Any], **body: Any) -> dict[str, Any]:
    return dict(api.ok("POST", f"/api/routines/{routine['id']}/triggers", body))
