"""The activity log: one entry per mutation, written in the change's own transaction,
read newest first in keyset pages (`before`), company-scoped, never a secret."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from devstack.api import (
    Api,
    make_agent,
    make_agent_token,
    make_company,
    make_member,
    make_world,
)
from shared.activity.record import record_activity
from shared.contract.bodies import RoutinePatch
from shared.contract.errors import Conflict
from shared.models import ActivityEntry, Company, Routine
from shared.platform.runtime import Runtime
from shared.routines.service import update_routine
from shared.tenancy.auth import ADMIN
from tests.support.activity import actions, activity
from web import presenters

ENTRY_FIELDS = {
    "id",
    "companyId",
    "actorType",
    "actorId",
    "action",
    "entityType",
    "entityId",
    "details",
    "createdAt",
}


def entries_in_db(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ActivityEntry)) or 0)


def test_creating_and_updating_a_routine_names_the_changed_fields(api: Api) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}"
    api.ok("PATCH", path, {"title": "Nightly check", "priority": "high"})

    entries = activity(api, world.company)

    assert actions(entries)[:2] == ["routine.updated", "routine.created"]
    updated, created = entries[0], entries[1]
    assert set(updated) == ENTRY_FIELDS
    assert updated["companyId"] == world.company["id"]
    assert (updated["actorType"], updated["actorId"]) == ("admin", None)
    assert (updated["entityType"], updated["entityId"]) == ("routine", world.routine["id"])
    assert updated["details"] == {
        "changes": {
            "title": {"old": "Daily check", "new": "Nightly check"},
            "priority": {"old": "medium", "new": "high"},
        }
    }
    assert updated["createdAt"].endswith("Z")
    changes = created["details"]["changes"]
    assert changes["title"] == {"old": None, "new": "Daily check"}
    assert changes["assigneeAgentId"] == {"old": None, "new": world.agent["id"]}
    assert "priority" in changes
    assert "updatedAt" not in changes


def test_trigger_mutations_are_recorded_and_no_entry_holds_a_secret(api: Api) -> None:
    world = make_world(api)
    created = api.ok("POST", f"/api/routines/{world.routine['id']}/triggers", {"kind": "webhook"})
    trigger = created["trigger"]
    path = f"/api/routine-triggers/{trigger['id']}"
    api.ok("PATCH", path, {"label": "Inbound", "replayWindowSec": 600})
    rotated = api.ok("POST", f"{path}/rotate-secret")
    api.ok("DELETE", path)

    entries = activity(api, world.company, "?entityType=trigger")

    assert actions(entries) == [
        "trigger.deleted",
        "trigger.secret_rotated",
        "trigger.updated",
        "trigger.created",
    ]
    assert {entry["entityId"] for entry in entries} == {trigger["id"]}
    deleted, rotation, updated, _ = entries
    assert updated["details"]["changes"] == {
        "label": {"old": None, "new": "Inbound"},
        "replayWindowSec": {"old": 300, "new": 600},
    }
    assert list(rotation["details"]["changes"]) == ["lastRotatedAt"]
    assert deleted["details"]["changes"]["label"] == {"old": "Inbound", "new": None}
    text = json.dumps(activity(api, world.company))
    for material in (created["secretMaterial"], rotated["secretMaterial"]):
        assert material["webhookSecret"] not in text
    assert trigger["publicId"] not in text
    assert "secret_id" not in text
    assert "secretId" not in text


def test_a_manual_run_is_recorded_once_even_when_its_key_is_sent_again(api: Api) -> None:
    world = make_world(api)
    path = f"/api/routines/{world.routine['id']}/run"
    first = api.ok("POST", path, {"idempotencyKey": "ticket-7", "payload": {"token": "p-123"}})
    again = api.ok("POST", path, {"idempotencyKey": "ticket-7"})
    assert again["id"] == first["id"]

    entries = activity(api, world.company, "?entityType=run")

    assert actions(entries) == ["run.requested"]
    assert entries[0]["entityId"] == first["id"]
    assert entries[0]["details"]["changes"] == {
        "routineId": {"old": None, "new": world.routine["id"]},
        "source": {"old": None, "new": "manual"},
        "idempotencyKey": {"old": None, "new": "ticket-7"},
    }
    assert "p-123" not in json.dumps(entries), "a run's payload is not copied into the log"


def test_projects_record_create_update_pause_and_resume(api: Api) -> None:
    company = make_company(api)
    project = api.ok("POST", f"/api/companies/{company['id']}/projects", {"name": "Ops"})
    path = f"/api/projects/{project['id']}"
    api.ok("PATCH", path, {"name": "Operations"})
    api.ok("POST", f"{path}/pause", {"reason": "freeze"})
    api.ok("POST", f"{path}/resume")

    entries = activity(api, company, f"?entityId={project['id']}")

    assert actions(entries) == [
        "project.resumed",
        "project.paused",
        "project.updated",
        "project.created",
    ]
    resumed, paused, updated, _ = entries
    assert updated["details"]["changes"] == {"name": {"old": "Ops", "new": "Operations"}}
    assert set(paused["details"]["changes"]) == {"pausedAt", "pauseReason"}
    assert paused["details"]["changes"]["pauseReason"] == {"old": None, "new": "freeze"}
    assert resumed["details"]["changes"]["pauseReason"] == {"old": "freeze", "new": None}


def test_agents_and_their_keys_are_recorded_without_the_token(api: Api) -> None:
    company = make_company(api)
    agent = make_agent(api, company, name="Scout")
    api.ok("PATCH", f"/api/agents/{agent['id']}", {"status": "paused"})
    key = api.ok("POST", f"/api/agents/{agent['id']}/keys", {"name": "ci"})
    api.ok("DELETE", f"/api/agents/{agent['id']}/keys/{key['id']}")

    entries = activity(api, company)

    assert actions(entries) == [
        "agent_key.revoked",
        "agent_key.created",
        "agent.updated",
        "agent.created",
    ]
    revoked, minted, updated, _ = entries
    assert (minted["entityType"], minted["entityId"]) == ("agent_key", key["id"])
    assert minted["details"]["changes"]["agentId"] == {"old": None, "new": agent["id"]}
    assert list(revoked["details"]["changes"]) == ["revokedAt"]
    assert updated["details"]["changes"] == {"status": {"old": "active", "new": "paused"}}
    text = json.dumps(entries)
    assert key["token"] not in text
    assert "tokenHash" not in text
    assert "token_hash" not in text


def test_the_actor_is_the_caller(api: Api) -> None:
    world = make_world(api)
    agent_token = make_agent_token(api, world.agent)
    member_token = make_member(api, world.company, ["tasks:assign"])
    path = f"/api/routines/{world.routine['id']}"
    api.as_(agent_token).ok("PATCH", path, {"description": "by the agent"})
    api.as_(member_token).ok("PATCH", path, {"description": "by a member"})

    by_member, by_agent = activity(api, world.company, "?entityType=routine")[:2]

    assert (by_agent["actorType"], by_agent["actorId"]) == ("agent", world.agent["id"])
    assert by_member["actorType"] == "user"
    assert uuid.UUID(by_member["actorId"])


def test_the_system_is_the_actor_when_there_is_no_caller(api: Api, runtime: Runtime) -> None:
    """The function the backfill and other callers without a principal use."""
    world = make_world(api)
    with runtime.sessions() as session, session.begin():
        routine = session.get(Routine, uuid.UUID(world.routine["id"]))
        assert routine is not None
        record_activity(
            session,
            company_id=routine.company_id,
            actor=None,
            action="trigger.backfilled",
            entity_type="trigger",
            entity_id=uuid.uuid4(),
            details={"recorded": 3},
            now=routine.created_at,
        )

    newest = activity(api, world.company, "?limit=1")[0]

    assert (newest["action"], newest["actorType"], newest["actorId"]) == (
        "trigger.backfilled",
        "system",
        None,
    )
    assert newest["details"] == {"recorded": 3}


def test_a_change_rolled_back_after_its_entry_leaves_neither(api: Api, runtime: Runtime) -> None:
    """The entry is in the change's transaction: a conflicting insert after both undoes both."""
    world = make_world(api)
    before = entries_in_db(runtime)
    now = datetime.now(UTC)
    clash = insert(Company).values(
        id=uuid.UUID(world.company["id"]),
        name="Clash",
        issue_prefix="X",
        issue_counter=0,
        created_at=now,
        updated_at=now,
    )
    with runtime.sessions() as session:
        transaction = session.begin()
        command = RoutinePatch(title="Never saved")
        update_routine(session, ADMIN, routine_id=world.routine["id"], command=command, now=now)
        written = session.scalar(select(func.count()).select_from(ActivityEntry))
        assert written == before + 1, "the entry is written with the change"
        with pytest.raises(IntegrityError):
            session.execute(clash)
        transaction.rollback()

    assert entries_in_db(runtime) == before
    assert api.ok("GET", f"/api/routines/{world.routine['id']}")["title"] == "Daily check"


def test_a_request_that_fails_after_its_change_writes_no_entry(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(api)
    before = entries_in_db(runtime)

    def refuse(_row: object) -> Any:
        raise Conflict("forced after the change")

    monkeypatch.setattr(presenters, "routine", refuse)
    response = api.patch(f"/api/routines/{world.routine['id']}", {"title": "Never saved"})

    assert (response.status, response.error) == (409, "forced after the change")
    assert entries_in_db(runtime) == before
    monkeypatch.undo()
    assert api.ok("GET", f"/api/routines/{world.routine['id']}")["title"] == "Daily check"
