"""What an activity entry may hold and how entries of one instant keep their order."""

from __future__ import annotations

import uuid

from shared.activity.record import TRACKED, actor_of, changes, sortable_id
from shared.tenancy.auth import ADMIN, Principal

#: Columns that hold or lead to a secret, or carry a caller's free-form data.
NEVER_TRACKED = {"secret_id", "public_id", "token_hash", "trigger_payload", "signature_hash"}


def test_no_tracked_field_is_a_secret_a_hash_or_a_payload() -> None:
    for entity, fields in TRACKED.items():
        assert not NEVER_TRACKED & set(fields), entity


def test_sortable_ids_increase_in_the_order_they_are_made() -> None:
    ids = [sortable_id() for _ in range(5000)]
    assert ids == sorted(ids)
    assert [str(i) for i in ids] == sorted(str(i) for i in ids), "as text too (SQLite)"
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}


def test_the_actor_is_named_by_the_kind_of_caller() -> None:
    agent, user = uuid.uuid4(), uuid.uuid4()
    assert actor_of(Principal(kind="agent", agent_id=agent)) == ("agent", agent)
    assert actor_of(Principal(kind="board", user_id=user)) == ("user", user)
    assert actor_of(ADMIN) == ("admin", None)
    assert actor_of(None) == ("system", None)


def test_changes_name_only_the_fields_that_differ() -> None:
    before = {"title": "a", "status": "active", "label": None}
    after = {"title": "b", "status": "active", "label": "x"}
    assert changes(before, after) == {
        "changes": {"title": {"old": "a", "new": "b"}, "label": {"old": None, "new": "x"}}
    }
