"""Many runs decided in one transaction on real PostgreSQL: the same outcomes as one at a
time, a fixed number of statements, and no deadlock between overlapping batches."""

from __future__ import annotations

import random
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

import shared.runs.decide_write as dispatch_write
from devstack.api import Api, fire, make_agent, make_company, make_project, make_routine
from shared.platform.db import transaction
from shared.platform.runtime import Runtime
from shared.runs.deciding import Outcome, decide_runs, dispatch_run
from tests.integration.test_races import all_at_once
from workers.deciding import decide_many

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def routine_in(api: Api, company: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A routine with its own agent and project, in `company` or a new one."""
    company = company or make_company(api)
    agent = make_agent(api, company)
    project = make_project(api, company)
    return make_routine(api, company, agent, projectId=project["id"], **fields)


def fire_many(api: Api, routine: dict[str, Any], count: int) -> list[uuid.UUID]:
    return [uuid.UUID(fire(api, routine)["id"]) for _ in range(count)]


def decide_in_one_transaction(runtime: Runtime, run_ids: list[uuid.UUID]) -> list[Any]:
    with transaction(runtime.sessions) as session:
        batch = decide_runs(session, run_ids=run_ids, now=NOW)
    assert batch.leftover == []
    return batch.decisions


def rows(runtime: Runtime, sql: str, **params: Any) -> list[Any]:
    with runtime.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


@contextmanager
def sent_on_connections(runtime: Runtime) -> Iterator[list[tuple[int, str]]]:
    """Each statement sent, with the DBAPI connection (its id) it went on."""
    sent: list[tuple[int, str]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append((id(conn.connection.dbapi_connection), statement))

    event.listen(runtime.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(runtime.engine, "before_cursor_execute", record)


def test_one_call_decides_a_hot_coalescing_routines_200_runs_in_the_order_they_came(
    api: Api, runtime: Runtime
) -> None:
    routine = routine_in(api, concurrencyPolicy="coalesce_if_active")
    run_ids = fire_many(api, routine, 200)

    decisions = decide_in_one_transaction(runtime, [run_ids[-1]])

    assert [d.run_id for d in decisions] == run_ids
    assert [d.outcome for d in decisions] == [Outcome.ISSUE_CREATED] + [Outcome.COALESCED] * 199
    (issue,) = rows(runtime, "SELECT id, origin_run_id FROM issues")
    assert issue.origin_run_id == run_ids[0]
    stored = rows(
        runtime,
        "SELECT status, linked_issue_id, coalesced_into_run_id, completed_at IS NOT NULL AS done"
        " FROM routine_runs WHERE id <> :first",
        first=run_ids[0],
    )
    assert {tuple(row) for row in stored} == {("coalesced", issue.id, run_ids[0], True)}


def test_always_enqueue_batch_numbers_its_issues_consecutively_in_run_order(
    api: Api, runtime: Runtime
) -> None:
    company = make_company(api, "Numbered", issuePrefix="NUM")
    routine = routine_in(api, company, concurrencyPolicy="always_enqueue")
    api.ok("POST", f"/api/companies/{company['id']}/issues", {"title": "By hand"})  # NUM-1
    run_ids = fire_many(api, routine, 50)

    decisions = decide_in_one_transaction(runtime, run_ids)

    assert {d.outcome for d in decisions} == {Outcome.ISSUE_CREATED}
    numbered = rows(
        runtime,
        "SELECT r.id, i.number, i.identifier FROM routine_runs r"
        " JOIN issues i ON i.id = r.linked_issue_id ORDER BY r.created_at, r.id",
    )
    assert [row.id for row in numbered] == run_ids
    assert [row.number for row in numbered] == list(range(2, 52))
    assert [row.identifier for row in numbered] == [f"NUM-{n}" for n in range(2, 52)]
    (counter,) = rows(runtime, "SELECT issue_counter FROM companies WHERE id = :id", **company)
    assert counter.issue_counter == 51


@pytest.mark.parametrize("policy", ["coalesce_if_active", "always_enqueue"])
def test_a_batch_runs_the_same_number_of_statements_for_10_runs_as_for_200(
    api: Api, runtime: Runtime, policy: str
) -> None:
    """Not counting the PREPAREs a connection sends the first time it runs a statement,
    which are checked to come once per connection and statement."""
    counts = {}
    prepares: Counter[tuple[int, str]] = Counter()
    for size in (10, 200):
        routine = routine_in(api, concurrencyPolicy=policy)
        trigger = api.ok("POST", f"/api/routines/{routine['id']}/triggers", {"kind": "api"})
        run_ids = [
            uuid.UUID(fire(api, routine, source="api", triggerId=trigger["trigger"]["id"])["id"])
            for _ in range(size)
        ]
        with sent_on_connections(runtime) as sent:
            decisions = decide_in_one_transaction(runtime, run_ids)
        assert len(decisions) == size
        prepares.update((c, s.split()[1]) for c, s in sent if s.startswith("PREPARE"))
        counts[size] = len([s for _, s in sent if not s.startswith("PREPARE")])
    print(f"\nstatements per batch ({policy}): {counts}")
    assert counts[10] == counts[200]
    assert counts[200] <= 12
    assert set(prepares.values()) <= {1}


def mixed_scenario(api: Api) -> dict[str, list[uuid.UUID]]:
    """Runs of routines in two companies, each in a state that decides differently."""
    acme, globex = make_company(api, "Acme"), make_company(api, "Globex")
    plain = routine_in(api, acme, title="Report for {{date}}", description="At {{timestamp}}")
    enqueue_a = routine_in(api, acme, concurrencyPolicy="always_enqueue")
    enqueue_g = routine_in(api, globex, concurrencyPolicy="always_enqueue")
    skipping = routine_in(api, globex, concurrencyPolicy="skip_if_active")
    paused = routine_in(api, acme)
    terminated = routine_in(api, globex)
    archived = routine_in(api, acme)
    gated = routine_in(api, globex)
    trigger = api.ok("POST", f"/api/routines/{gated['id']}/triggers", {"kind": "api"})["trigger"]
    scenario = {
        "plain": fire_many(api, plain, 3),
        "enqueue": fire_many(api, enqueue_a, 2) + fire_many(api, enqueue_g, 2),
        "skipping": fire_many(api, skipping, 3),
        "paused": fire_many(api, paused, 2),
        "terminated": fire_many(api, terminated, 2),
        "archived": fire_many(api, archived, 2),
        "gated": [
            uuid.UUID(fire(api, gated, source="api", triggerId=trigger["id"])["id"])
            for _ in range(2)
        ],
    }
    api.ok("POST", f"/api/projects/{paused['projectId']}/pause", {"reason": "freeze"})
    api.ok("PATCH", f"/api/agents/{terminated['assigneeAgentId']}", {"status": "terminated"})
    api.ok("PATCH", f"/api/routines/{archived['id']}", {"status": "archived"})
    api.ok("PATCH", f"/api/routine-triggers/{trigger['id']}", {"enabled": False})
    return scenario


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a decision writes, with issue ids replaced by identifiers (ids are random)."""
    issues = {
        row.id: row
        for row in session.execute(text("SELECT * FROM issues ORDER BY company_id, number"))
    }
    named = {str(issue_id): issue.identifier for issue_id, issue in issues.items()}

    def plain(row: Any) -> tuple[Any, ...]:
        values = []
        for value in row:
            if isinstance(value, uuid.UUID) and value in issues:
                value = issues[value].identifier
            elif isinstance(value, str):
                value = re.sub(r"[0-9a-f-]{36}", lambda m: named.get(m.group(0), m.group(0)), value)
            values.append(value)
        return tuple(values)

    def table(sql: str) -> list[tuple[Any, ...]]:
        return [plain(row) for row in session.execute(text(sql))]

    return {
        "runs": table("SELECT * FROM routine_runs ORDER BY id"),
        "issues": [plain(row) for row in issues.values()],
        "routines": table("SELECT * FROM routines ORDER BY id"),
        "triggers": table("SELECT * FROM routine_triggers ORDER BY id"),
        "companies": table("SELECT * FROM companies ORDER BY id"),
    }


def test_a_mixed_batch_decides_every_run_as_deciding_each_alone_would(
    api: Api, runtime: Runtime
) -> None:
    scenario = mixed_scenario(api)
    run_ids = [run_id for ids in scenario.values() for run_id in ids]
    in_order = [row.id for row in rows(runtime, "SELECT id FROM routine_runs ORDER BY created_at")]
    with runtime.sessions() as session, session.begin():
        for run_id in in_order:
            dispatch_run(session, run_id=run_id, now=NOW)
        alone = snapshot(session)
        session.rollback()

    random.Random(7).shuffle(run_ids)
    with runtime.sessions() as session, session.begin():
        batch = decide_runs(session, run_ids=run_ids, now=NOW)
        together = snapshot(session)

    assert together == alone
    outcomes = {d.run_id: (d.outcome, d.issue_id is not None) for d in batch.decisions}
    by_label = {label: [outcomes[run_id] for run_id in ids] for label, ids in scenario.items()}
    created, coalesced = (Outcome.ISSUE_CREATED, True), (Outcome.COALESCED, True)
    assert by_label == {
        "plain": [created, coalesced, coalesced],
        "enqueue": [created] * 4,
        "skipping": [created, (Outcome.SKIPPED, True), (Outcome.SKIPPED, True)],
        "paused": [(Outcome.SKIPPED, False)] * 2,
        "terminated": [(Outcome.FAILED, False)] * 2,
        "archived": [(Outcome.SKIPPED, False)] * 2,
        "gated": [(Outcome.SKIPPED, False)] * 2,
    }
    reasons = dict(rows(runtime, "SELECT id, failure_reason FROM routine_runs"))
    assert {reasons[run_id] for run_id in scenario["paused"]} == {"paused"}
    assert {reasons[run_id] for run_id in scenario["terminated"]} == {
        "Assignee agent is terminated"
    }
    assert {reasons[run_id] for run_id in scenario["archived"]} == {"Routine is archived"}
    assert {reasons[run_id] for run_id in scenario["gated"]} == {"Routine trigger is not active"}
    (result,) = rows(runtime, "SELECT last_result FROM routine_triggers")
    assert result.last_result == "Skipped: Routine trigger is not active"


def test_overlapping_batches_in_many_threads_decide_each_run_once_without_deadlock(
    api: Api, runtime: Runtime
) -> None:
    companies = [make_company(api, name) for name in ("One", "Two", "Three")]
    policies = ["coalesce_if_active", "always_enqueue", "skip_if_active"]
    routines = [
        routine_in(api, companies[i % 3], concurrencyPolicy=policies[(i // 3) % 3])
        for i in range(9)
    ]
    run_ids = [run_id for routine in routines for run_id in fire_many(api, routine, 25)]
    threads = 8
    shuffled = random.Random(11)
    batches = [shuffled.sample(run_ids, 60) for _ in range(threads)]
    batches[0] = run_ids  # every run is in at least one batch

    results = all_at_once(threads, lambda i: decide_many(runtime, batches[i]))

    decided = Counter(
        d.run_id
        for decisions in results
        for d in decisions
        if d.outcome not in (Outcome.ALREADY_DECIDED, Outcome.MISSING)
    )
    assert decided == Counter(run_ids)
    assert not rows(runtime, "SELECT id FROM routine_runs WHERE status = 'received'")
    live = rows(
        runtime,
        "SELECT r.concurrency_policy, count(*) AS n FROM issues i"
        " JOIN routines r ON r.id = i.origin_id GROUP BY r.id, r.concurrency_policy",
    )
    assert sorted((row.concurrency_policy, row.n) for row in live) == sorted(
        [("coalesce_if_active", 1)] * 3 + [("skip_if_active", 1)] * 3 + [("always_enqueue", 25)] * 3
    )
    numbers = rows(runtime, "SELECT company_id, array_agg(number) AS n FROM issues GROUP BY 1")
    for row in numbers:
        assert sorted(row.n) == list(range(1, len(row.n) + 1))


def test_a_broken_run_fails_alone_while_the_rest_of_its_batch_is_decided(
    api: Api, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    company = make_company(api)
    good = routine_in(api, company, concurrencyPolicy="always_enqueue", title="Fine")
    broken = routine_in(api, company, title="Broken {{date}}")
    run_ids = fire_many(api, good, 3) + fire_many(api, broken, 1) + fire_many(api, good, 3)
    real_render = dispatch_write.render

    def render(template: str | None, values: dict[str, Any]) -> str | None:
        if template and template.startswith("Broken"):
            raise RuntimeError("template exploded")
        return real_render(template, values)

    monkeypatch.setattr(dispatch_write, "render", render)

    decisions = {d.run_id: d.outcome for d in decide_many(runtime, run_ids)}

    assert decisions == {
        run_id: Outcome.FAILED if run_id == run_ids[3] else Outcome.ISSUE_CREATED
        for run_id in run_ids
    }
    stored = dict(rows(runtime, "SELECT id, failure_reason FROM routine_runs"))
    assert stored[run_ids[3]] == "Dispatch failed: RuntimeError: template exploded"
    assert {stored[run_id] for run_id in run_ids if run_id != run_ids[3]} == {None}
    numbers = [row.number for row in rows(runtime, "SELECT number FROM issues ORDER BY number")]
    assert numbers == list(range(1, 7))


def test_a_straggler_recorded_long_before_is_left_to_its_own_message(
    api: Api, runtime: Runtime
) -> None:
    routine = routine_in(api, concurrencyPolicy="always_enqueue")
    straggler, *burst = fire_many(api, routine, 4)
    with runtime.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE routine_runs SET created_at = created_at - interval '1 hour' WHERE id = :id"
            ),
            {"id": straggler},
        )

    taken = decide_in_one_transaction(runtime, [burst[-1]])
    own = decide_in_one_transaction(runtime, [straggler])

    assert [d.run_id for d in taken] == burst
    assert [(d.run_id, d.outcome) for d in own] == [(straggler, Outcome.ISSUE_CREATED)]


def test_a_run_recorded_after_the_batch_read_its_clock_is_never_decided_before_it_existed(
    api: Api, runtime: Runtime
) -> None:
    """Runs taken along can be newer than the `now` the worker read before its
    transaction (another process's clock, or a slow lock): decided_at is never earlier
    than created_at."""
    routine = routine_in(api, concurrencyPolicy="coalesce_if_active")
    run_ids = fire_many(api, routine, 3)
    (newest,) = rows(runtime, "SELECT max(created_at) AS at FROM routine_runs")
    with transaction(runtime.sessions) as session:
        decide_runs(session, run_ids=run_ids[:1], now=newest.at.replace(year=2020))
    stamps = rows(runtime, "SELECT created_at, decided_at, completed_at FROM routine_runs")
    assert len(stamps) == 3
    assert all(s.decided_at >= s.created_at for s in stamps)
    assert all(s.completed_at is None or s.completed_at >= s.created_at for s in stamps)


def test_a_batch_stores_exact_values_json_null_apart_from_sql_null(
    api: Api, runtime: Runtime
) -> None:
    """What the set-based writes store, typed: timestamps to the microsecond, a missing
    workspace's settings as JSON null (as the ORM writes None) but a missing description
    as SQL NULL, a 500-character title whole, text with quotes and backslashes as is."""
    company = make_company(api)
    agent = make_agent(api, company)
    value = "it's " + "v" * 600
    routine = make_routine(
        api,
        company,
        agent,
        title='\\"quoted" {{x}} é',
        concurrencyPolicy="always_enqueue",
        variables=[{"name": "x", "type": "text", "defaultValue": value}],
    )
    plain = uuid.UUID(fire(api, routine)["id"])
    settings = {"branch": "main", "none": None, "n": 1.5}
    workspace = uuid.UUID(
        fire(
            api,
            routine,
            executionWorkspaceId="ws-7",
            executionWorkspacePreference="reuse",
            executionWorkspaceSettings=settings,
        )["id"]
    )
    now = datetime(2099, 11, 26, 9, 0, 0, 123456, tzinfo=UTC)  # after the runs were recorded
    with transaction(runtime.sessions) as session:
        decide_runs(session, run_ids=[plain, workspace], now=now, take_along=False)

    stored = {
        row.origin_run_id: row
        for row in rows(
            runtime,
            "SELECT origin_run_id, title, description, created_at, completed_at,"
            " execution_workspace_settings AS settings,"
            " jsonb_typeof(execution_workspace_settings) AS settings_type,"
            " execution_workspace_id FROM issues",
        )
    }
    assert stored[plain].settings_type == "null"
    assert stored[plain].description is None
    assert stored[plain].execution_workspace_id is None
    assert stored[workspace].settings == settings
    assert stored[workspace].execution_workspace_id == "ws-7"
    for row in stored.values():
        assert row.title == ('\\"quoted" ' + value)[:500]
        assert row.created_at == now
        assert row.completed_at is None
    runs = rows(runtime, "SELECT decided_at, updated_at, completed_at FROM routine_runs")
    assert {(r.decided_at, r.updated_at) for r in runs} == {(now, now)}
