"""Writing a batch's decisions set-based: one bulk update each for runs, routines and
triggers, then issue numbers for every company in one step and one multi-row issue
insert, so a batch costs a fixed number of statements however many runs it decides."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Dialect, String, Table, TextClause, Uuid, insert, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from shared.contract.vocabulary import ROUTINE_EXECUTION
from shared.models import Issue, Routine, RoutineRun, RoutineTrigger
from shared.platform.members import texts
from shared.routines.templates import render
from shared.routines.variables import render_values
from shared.runs.decide_rules import (
    Outcome,
    RoutineState,
    RunState,
    TriggerState,
    Verdict,
)
from shared.tenancy.companies import allocate_issue_numbers
from shared.work.issues import status_stamps

#: Every execution issue starts here.
NEW_ISSUE_STATUS = "todo"


@dataclass
class Changes:
    """What a batch's decisions change, gathered in decision order, written by `write`."""

    now: datetime
    runs: list[dict[str, Any]] = field(default_factory=list)
    #: By id: a routine or trigger decided several times keeps its last decision's values.
    routines: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    triggers: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)
    #: Issue columns without `number` and `identifier`, given out by `write`.
    issues: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        run: RunState,
        routine: RoutineState,
        trigger: TriggerState | None,
        verdict: Verdict,
    ) -> None:
        """The fields one decision sets (API.md section 6: run, routine, trigger)."""
        now, issue = self.stamp(run), verdict.issue
        final = verdict.outcome is not Outcome.ISSUE_CREATED
        self.runs.append(
            {
                "id": run.id,
                "status": verdict.outcome.value,
                "failure_reason": verdict.reason,
                "decided_at": now,
                "updated_at": now,
                "linked_issue_id": issue.id if issue else run.linked_issue_id,
                "coalesced_into_run_id": (
                    issue.origin_run_id if issue and final else run.coalesced_into_run_id
                ),
                "completed_at": now if final else run.completed_at,
            }
        )
        earlier = self.routines.get(routine.id)
        enqueued = earlier["last_enqueued_at"] if earlier else routine.last_enqueued_at
        self.routines[routine.id] = {
            "id": routine.id,
            "last_triggered_at": now,
            "last_enqueued_at": now if issue else enqueued,
        }
        if trigger is not None:
            self.triggers[trigger.id] = {
                "id": trigger.id,
                "last_fired_at": now,
                "last_result": verdict.trigger_result,
            }

    def add_issue(self, run: RunState, routine: RoutineState, issue_id: uuid.UUID) -> None:
        """The execution issue of `run`, rendered now (before any lock on a company)."""
        self.issues.append(issue_columns(run, routine, issue_id, self.stamp(run)))

    def stamp(self, run: RunState) -> datetime:
        """When `run` is decided: the batch's time, but never before the run was recorded
        (a run taken along may be newer than the clock the worker read before its
        transaction), so each run is stamped as deciding it alone would."""
        return max(self.now, run.created_at)


def issue_columns(
    run: RunState, routine: RoutineState, issue_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """The columns `issues.new_issue` would write for this run's execution issue."""
    values = render_values(run)
    workspace = run.execution_workspace or {}
    manual = run.source == "manual"
    completed_at, cancelled_at = status_stamps(NEW_ISSUE_STATUS, now)
    return {
        "id": issue_id,
        "company_id": routine.company_id,
        "created_at": now,
        "updated_at": now,
        "title": (render(routine.title, values) or routine.title)[:500],
        "description": render(routine.description, values),
        "status": NEW_ISSUE_STATUS,
        "priority": routine.priority,
        "assignee_agent_id": routine.assignee_for(run),
        "project_id": routine.project_for(run),
        "goal_id": routine.goal_id,
        "parent_id": routine.parent_issue_id,
        "origin_kind": ROUTINE_EXECUTION,
        "origin_id": routine.id,
        "origin_run_id": run.id,
        "created_by_agent_id": run.requested_by_agent_id if manual else None,
        "created_by_user_id": run.requested_by_user_id if manual else None,
        "execution_workspace_id": workspace.get("id"),
        "execution_workspace_preference": workspace.get("preference"),
        "execution_workspace_settings": workspace.get("settings"),
        "completed_at": completed_at,
        "cancelled_at": cancelled_at,
    }


#: On PostgreSQL each kind of row is one statement over arrays (`unnest`), whatever the
#: batch size, with no ORM bookkeeping and no SQL rendered per row; SQLite takes
#: SQLAlchemy's bulk UPDATE and multi-row INSERT.
_SET_BASED = {
    "routine_runs": (
        "id uuid",
        "status text",
        "failure_reason text",
        "decided_at timestamptz",
        "updated_at timestamptz",
        "linked_issue_id uuid",
        "coalesced_into_run_id uuid",
        "completed_at timestamptz",
    ),
    "routines": ("id uuid", "last_triggered_at timestamptz", "last_enqueued_at timestamptz"),
    "routine_triggers": ("id uuid", "last_fired_at timestamptz", "last_result text"),
}


def _set_based_update(table: str, columns: tuple[str, ...]) -> TextClause:
    names = [column.split()[0] for column in columns]
    arrays = ", ".join(
        f"CAST(:{n} AS {c.split()[1]}[])" for n, c in zip(names, columns, strict=True)
    )
    assignments = ", ".join(f"{n} = v.{n}" for n in names[1:])
    # Table and column names come from _SET_BASED above, never from input.
    return text(
        f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) "  # noqa: S608
        f"AS v({', '.join(names)}) WHERE t.id = v.id"
    )


def _set_based_insert(table: Table) -> TextClause:
    names = ", ".join(column.name for column in table.columns)
    arrays = ", ".join(f"CAST(:{c.name} AS {_array_of(c.type)}[])" for c in table.columns)
    # Table and column names come from the model, never from input.
    return text(f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({arrays})")  # noqa: S608


def _array_of(column_type: TypeEngine[Any]) -> str:
    """The element type of a column's array: strings as TEXT, since a CAST to VARCHAR(n)
    would cut a long value where the INSERT's own conversion refuses it."""
    if isinstance(column_type, String):
        return "TEXT"
    return column_type.compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]


_ISSUES = cast(Table, Issue.__table__)
_UPDATES = {table: _set_based_update(table, columns) for table, columns in _SET_BASED.items()}
_INSERT_ISSUES = _set_based_insert(_ISSUES)


def write(session: Session, changes: Changes) -> None:
    """Rows already locked first; the company counters last, right before the insert that
    needs them, so the company rows are held as briefly as possible (shared.platform.locks)."""
    batches = (
        (RoutineRun, changes.runs),
        (Routine, list(changes.routines.values())),
        (RoutineTrigger, list(changes.triggers.values())),
    )
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    for model, rows in batches:
        if not rows:
            continue
        if postgresql:
            table = model.__tablename__
            arrays = {}
            for column in _SET_BASED[table]:
                name, kind = column.split()
                values = [row[name] for row in rows]
                arrays[name] = texts(values) if kind == "uuid" else values
            connection.execute(_UPDATES[table], arrays)
        else:
            session.execute(update(model), rows)
    if changes.issues:
        _number(session, changes.issues)
        # Core, not the ORM's bulk insert: nothing here is tracked by the session.
        if postgresql:
            connection.execute(_INSERT_ISSUES, _issue_arrays(connection.dialect, changes.issues))
        else:
            connection.execute(insert(_ISSUES), changes.issues)


def _issue_arrays(dialect: Dialect, issues: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Each column's values as its type binds them (JSON serialized as the ORM would,
    `None` included), UUIDs as text."""
    arrays = {}
    for column in _ISSUES.columns:
        values = [issue[column.name] for issue in issues]
        if isinstance(column.type, Uuid):
            arrays[column.name] = texts(values)
            continue
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        arrays[column.name] = [process(value) for value in values] if process else values
    return arrays


def _number(session: Session, issues: list[dict[str, Any]]) -> None:
    """Consecutive numbers per company, in decision order."""
    counts = Counter(issue["company_id"] for issue in issues)
    first = allocate_issue_numbers(session, counts)
    given: Counter[uuid.UUID] = Counter()
    for issue in issues:
        company_id = issue["company_id"]
        start, prefix = first[company_id]
        issue["number"] = start + given[company_id]
        issue["identifier"] = f"{prefix}-{issue['number']}"
        given[company_id] += 1
