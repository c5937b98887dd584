"""Runs and issues read straight from the database after a fault, and the rule that
each accepted run is decided exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from devstack.processes import wait_for

#: Every run status but `received` is a decision (API.md section 6).
DECIDED = frozenset({"issue_created", "coalesced", "skipped", "completed", "failed"})
#: Issue statuses that make an execution issue "live" (API.md section 6).
LIVE = frozenset({"backlog", "todo", "in_progress", "in_review", "blocked"})


@dataclass(frozen=True)
class RunRow:
    id: str
    routine_id: str
    status: str
    linked_issue_id: str | None
    coalesced_into_run_id: str | None


@dataclass(frozen=True)
class IssueRow:
    id: str
    origin_id: str | None
    origin_run_id: str | None
    status: str
    identifier: str


@dataclass
class Ledger:
    """Runs and issues as they are in PostgreSQL, for counting after a fault."""

    runs: list[RunRow] = field(default_factory=list)
    issues: list[IssueRow] = field(default_factory=list)

    @classmethod
    def read(cls, engine: Engine, routine_ids: list[str] | None = None) -> Ledger:
        where = "WHERE routine_id::text = ANY(:ids)" if routine_ids is not None else ""
        issue_where = "AND origin_id::text = ANY(:ids)" if routine_ids is not None else ""
        params = {"ids": routine_ids} if routine_ids is not None else {}
        with engine.connect() as connection:
            runs = [
                RunRow(*(None if v is None else str(v) for v in row))  # type: ignore[arg-type]
                for row in connection.execute(
                    text(
                        "SELECT id, routine_id, status, linked_issue_id, coalesced_into_run_id "
                        f"FROM routine_runs {where}"
                    ),
                    params,
                )
            ]
            issues = [
                IssueRow(*(None if v is None else str(v) for v in row))  # type: ignore[arg-type]
                for row in connection.execute(
                    text(
                        "SELECT id, origin_id, origin_run_id, status, identifier FROM issues "
                        f"WHERE origin_kind = 'routine_execution' {issue_where}"
                    ),
                    params,
                )
            ]
        return cls(runs, issues)

    def by_status(self) -> Counter[str]:
        return Counter(run.status for run in self.runs)

    def undecided(self) -> list[str]:
        return [run.id for run in self.runs if run.status not in DECIDED]

    def live(self) -> list[IssueRow]:
        return [issue for issue in self.issues if issue.status in LIVE]

    def assert_each_run_decided_once(self, accepted: list[str]) -> None:
        """Every accepted run is in the database and decided; every issue comes from
        exactly one run and every run that made an issue made exactly one."""
        ids = {run.id for run in self.runs}
        assert len(accepted) == len(set(accepted)), "two 202s carried the same run id"
        missing = set(accepted) - ids
        assert not missing, f"{len(missing)} runs answered 202 are not in the database"
        assert not self.undecided(), f"{len(self.undecided())} runs are still undecided"
        origins = Counter(issue.origin_run_id for issue in self.issues)
        doubled = {run for run, n in origins.items() if n > 1}
        assert not doubled, f"runs with more than one issue: {doubled}"
        created = [
            r for r in self.runs if r.linked_issue_id and r.status not in ("coalesced", "skipped")
        ]
        assert len(self.issues) == len(created), (len(self.issues), len(created))
        issues = {issue.id: issue for issue in self.issues}
        for run in created:
            assert run.linked_issue_id in issues, f"run {run.id} links no issue"
            assert issues[run.linked_issue_id].origin_run_id == run.id


@contextmanager
def database(url: str) -> Iterator[Engine]:
    engine = create_engine(url, pool_pre_ping=True)
    try:
        yield engine
    finally:
        engine.dispose()


def wait_until_decided(
    engine: Engine, routine_ids: list[str], *, timeout: float, expected: int | None = None
) -> Ledger:
    """Poll until no run of these routines is `received` (and, if given, at least
    `expected` runs exist); the final ledger."""
    ledger = Ledger()

    def settled() -> bool:
        nonlocal ledger
        try:
            ledger = Ledger.read(engine, routine_ids)
        except Exception:  # the database may itself be coming back
            return False
        enough = expected is None or len(ledger.runs) >= expected
        return enough and not ledger.undecided()

    try:
        wait_for(settled, timeout=timeout, what="every run to be decided")
    except TimeoutError as error:
        raise TimeoutError(f"{error}; runs by status: {dict(ledger.by_status())}") from None
    return ledger
