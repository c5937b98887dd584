"""What a web process knows of a webhook trigger (shared.webhooks.hooks) is never trusted
on its own: every change to the trigger or its routine made after a process read them is
honoured by that process's very next delivery, on real PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text

from devstack.api import Api, Response, make_world
from shared.models import RoutineRun
from shared.platform.runtime import Runtime
from shared.runs.recording import RunRequest, run_values
from shared.webhooks.hooks import INSERT_LANES, insert_known, known_row, read_hook


class Hook:
    """A bearer webhook trigger on a new routine, fired through `api` (one process)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.routine = make_world(api).routine
        created = api.ok(
            "POST", f"/api/routines/{self.routine['id']}/triggers", {"kind": "webhook"}
        )
        self.trigger = created["trigger"]
        self.path = created["secretMaterial"]["webhookUrl"].split("127.0.0.1:3100", 1)[1]
        self.secret: str = created["secretMaterial"]["webhookSecret"]

    def fire(self, body: bytes = b"{}", secret: str | None = None, **headers: str) -> Response:
        sent = {
            "Authorization": f"Bearer {secret or self.secret}",
            "Content_Type": "application/json",
            **headers,
        }
        return self.api.as_(None).call("POST", self.path, body, **sent)

    def known(self, runtime: Runtime) -> bool:
        return runtime.hooks.get(self.trigger["publicId"]) is not None


@pytest.fixture
def hook(api: Api, runtime: Runtime) -> Hook:
    made = Hook(api)
    assert made.fire().status == 202
    assert made.known(runtime)  # what every test below starts from
    return made


def runs_of(runtime: Runtime, hook: Hook) -> list[RoutineRun]:
    with runtime.sessions() as session:
        query = select(RoutineRun).where(RoutineRun.routine_id == hook.routine["id"])
        return list(session.scalars(query.order_by(RoutineRun.created_at)))


def test_a_routine_paused_after_the_process_read_it_refuses_the_next_delivery(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    api.ok("PATCH", f"/api/routines/{hook.routine['id']}", {"status": "paused"})
    refused = hook.fire(b'{"after": "pause"}')
    assert (refused.status, refused.error) == (409, "Routine trigger is not active")
    assert len(runs_of(runtime, hook)) == 1


def test_a_trigger_disabled_after_the_process_read_it_refuses_the_next_delivery(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": False})
    assert hook.fire().status == 409
    api.ok("PATCH", f"/api/routine-triggers/{hook.trigger['id']}", {"enabled": True})
    assert hook.fire().status == 202
    assert len(runs_of(runtime, hook)) == 2


def test_a_deleted_trigger_is_not_found_at_once(hook: Hook, api: Api, runtime: Runtime) -> None:
    assert api.call("DELETE", f"/api/routine-triggers/{hook.trigger['id']}").status in (200, 204)
    gone = hook.fire()
    assert (gone.status, gone.error) == (404, "Routine trigger not found")
    assert not hook.known(runtime)


def test_a_rotated_secret_verifies_at_once_and_the_old_one_stops(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    rotated = api.ok("POST", f"/api/routine-triggers/{hook.trigger['id']}/rotate-secret")
    new = rotated["secretMaterial"]["webhookSecret"]
    assert hook.fire(secret=new).status == 202
    assert hook.fire().status == 401  # no grace was asked for
    assert len(runs_of(runtime, hook)) == 2


def test_variables_changed_after_the_process_read_them_reach_the_next_run(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    variables = [{"name": "topic", "type": "text", "defaultValue": "fresh", "required": False}]
    changed = api.call("PATCH", f"/api/routines/{hook.routine['id']}", {"variables": variables})
    assert changed.status == 200, changed.body
    assert hook.fire().status == 202
    assert runs_of(runtime, hook)[-1].variables == {"topic": "fresh"}


def test_a_change_made_by_hand_in_the_database_is_honoured_too(
    hook: Hook, runtime: Runtime
) -> None:
    """The insert compares the rows themselves, so nothing depends on the application's
    own writes saying what changed: an operator's UPDATE is seen like any other."""
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE routines SET status = 'paused' WHERE id = :id"), {"id": hook.routine["id"]}
        )
    assert hook.fire().status == 409


def test_a_repeated_key_and_a_replay_are_answered_as_without_the_copy(
    hook: Hook, runtime: Runtime
) -> None:
    first = hook.fire(b'{"n": 1}', Idempotency_Key="evt-1")
    again = hook.fire(b'{"n": 2}', Idempotency_Key="evt-1")
    assert (first.status, again.status) == (202, 202)
    assert again.body["id"] == first.body["id"]
    assert len(runs_of(runtime, hook)) == 2  # the fixture's fire and this one


def test_an_accepted_fire_answers_what_reading_the_run_back_shows(hook: Hook, api: Api) -> None:
    fired = hook.fire(b'{"shape": "same"}')
    assert fired.status == 202
    assert fired.body == api.ok("GET", f"/api/routine-runs/{fired.body['id']}")


def test_a_pause_racing_deliveries_lets_none_in_after_it_committed(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    """Threads keep firing through one process while the routine is paused: every
    delivery that began after the pause had committed is refused, and every 202 is a
    run."""
    paused = threading.Event()
    answers: list[tuple[bool, int]] = []
    lock = threading.Lock()

    def keep_firing() -> None:
        for n in range(40):
            began_after = paused.is_set()
            status = hook.fire(f'{{"n": {n}}}'.encode()).status
            with lock:
                answers.append((began_after, status))

    threads = [threading.Thread(target=keep_firing) for _ in range(4)]
    for thread in threads:
        thread.start()
    with runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE routines SET status = 'paused' WHERE id = :id"), {"id": hook.routine["id"]}
        )
    paused.set()
    for thread in threads:
        thread.join()
    assert all(status == 409 for began_after, status in answers if began_after)
    assert {status for _, status in answers} <= {202, 409}
    accepted = sum(1 for _, status in answers if status == 202)
    assert len(runs_of(runtime, hook)) == accepted + 1  # and the fixture's


def test_a_variable_no_longer_required_is_not_asked_for_by_a_stale_copy(
    hook: Hook, api: Api, runtime: Runtime
) -> None:
    """The copy would refuse (422) for a variable the routine has since dropped: it
    looks afresh before refusing, and the delivery is accepted."""
    required = [{"name": "topic", "type": "text", "defaultValue": None, "required": True}]
    api.ok("PATCH", f"/api/routines/{hook.routine['id']}", {"variables": required})
    assert hook.fire(b'{"topic": "cached"}').status == 202  # the copy now requires it
    api.ok("PATCH", f"/api/routines/{hook.routine['id']}", {"variables": []})
    assert hook.fire(b"{}").status == 202
    assert len(runs_of(runtime, hook)) == 3


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_deliveries_accepted_while_the_inserts_run_are_inserted_together(
    hook: Hook, runtime: Runtime
) -> None:
    """Each lane's insert waits on a lock; four more deliveries accepted meanwhile are
    inserted by at most one statement per lane after them (both lanes, freed together,
    may each hand the lead to a waiting delivery before either has taken them all), and
    each answers with its own run."""
    inserts: list[str] = []

    def record(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("EXECUTE routines_insert_webhook_run"):
            inserts.append(statement)

    answers: list[Response] = []

    def fire(n: int) -> None:
        answers.append(hook.fire(f'{{"n": {n}}}'.encode()))

    firing = [threading.Thread(target=fire, args=(n,)) for n in range(INSERT_LANES + 4)]
    event.listen(runtime.autocommit, "before_cursor_execute", record)
    try:
        with runtime.engine.begin() as holding:  # the run's foreign key waits on this
            holding.execute(
                text("SELECT id FROM routines WHERE id = :id FOR UPDATE"),
                {"id": hook.routine["id"]},
            )
            for thread in firing[:INSERT_LANES]:
                thread.start()
            wait_until(lambda: len(inserts) == INSERT_LANES)
            for thread in firing[INSERT_LANES:]:
                thread.start()
            wait_until(lambda: runtime.hooks.inserts_waiting() == 4)
        for thread in firing:
            thread.join()
    finally:
        event.remove(runtime.autocommit, "before_cursor_execute", record)
    assert [answer.status for answer in answers] == [202] * len(firing)
    assert INSERT_LANES + 1 <= len(inserts) <= 2 * INSERT_LANES < len(firing)
    ids = {answer.body["id"] for answer in answers}
    assert len(ids) == len(firing)
    stored = {str(run.id): run.trigger_payload for run in runs_of(runtime, hook)}
    assert ids <= set(stored)
    assert sorted(stored[i]["n"] for i in ids) == list(range(len(firing)))


def test_a_row_postgresql_refuses_does_not_take_the_rows_beside_it_down(
    hook: Hook, runtime: Runtime
) -> None:
    """The rows of one insert answer False together when PostgreSQL refuses one of them,
    so each delivery goes on alone; the good one then goes in."""
    with runtime.autocommit.connect() as connection:
        found = read_hook(connection, hook.trigger["publicId"])
    assert found is not None
    request = RunRequest(source="webhook", trigger_id=found.trigger_id, payload={"n": 1})
    now = datetime.now(UTC)
    good = run_values(request, company_id=found.company_id, routine_id=found.routine_id, now=now)
    bad = {**known_row(found, good), "id": str(uuid.uuid4()), "at": "not a time"}
    assert insert_known(runtime.autocommit, [known_row(found, good), bad]) == [False, False]
    assert len(runs_of(runtime, hook)) == 1  # the fixture's
    assert insert_known(runtime.autocommit, [known_row(found, good)]) == [True]
    assert len(runs_of(runtime, hook)) == 2
