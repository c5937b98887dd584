"""A worker process's threads decide the `dispatch_runs` messages they hold together
(workers.deciding.DecisionGroup), on real PostgreSQL: messages that arrive while every
lane's transaction decides go into the next one, and each thread gets its own runs
back. One lane makes the grouping visible; the last test shows the second lane."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from devstack.api import Api
from shared.platform.runtime import Runtime
from shared.runs.deciding import Decision, Outcome
from tests.integration.test_batch_decisions import fire_many, routine_in
from workers.deciding import DecisionGroup

MESSAGES = 4


class Gate:
    """The one statement listener of a test: holds the first statement sent until
    `release` is set, and, once `fail_all_but` names a thread, fails every other
    thread's statements as a lost server would."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.fail_all_but: threading.Thread | None = None
        self.commits = 0

    def statement(self, *_: Any) -> None:
        spared = self.fail_all_but
        if spared is not None and threading.current_thread() is not spared:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        if not self.started.is_set():
            self.started.set()
            self.release.wait(10)

    def commit(self, *_: Any) -> None:
        self.commits += 1


@contextmanager
def gate(runtime: Runtime) -> Iterator[Gate]:
    made = Gate()
    event.listen(runtime.engine, "before_cursor_execute", made.statement)
    event.listen(runtime.engine, "commit", made.commit)
    try:
        yield made
    finally:
        made.release.set()
        event.remove(runtime.engine, "before_cursor_execute", made.statement)
        event.remove(runtime.engine, "commit", made.commit)


def messages(api: Api) -> list[list[uuid.UUID]]:
    """Three runs at each of four routines, one message per routine."""
    return [fire_many(api, routine_in(api), 3) for _ in range(MESSAGES)]


def wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def start(target: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def test_messages_arriving_during_a_transaction_are_decided_in_the_next_one(
    api: Api, runtime: Runtime
) -> None:
    batches = messages(api)
    group = DecisionGroup(lanes=1)
    results: dict[int, list[Decision]] = {}

    def decide(n: int) -> Callable[[], None]:
        return lambda: results.setdefault(n, group.decide(runtime, batches[n]))

    with gate(runtime) as held:
        first = start(decide(0))
        assert held.started.wait(10)
        others = [start(decide(n)) for n in range(1, MESSAGES)]
        wait_until(lambda: len(group._waiting) == MESSAGES - 1)
        held.release.set()
        for thread in [first, *others]:
            thread.join(10)
    assert held.commits == 2  # the held message's, then the three that waited, together
    for n, run_ids in enumerate(batches):
        assert [d.run_id for d in results[n]] == run_ids  # its own runs, in its order
        assert [d.outcome for d in results[n]] == [
            Outcome.ISSUE_CREATED,
            Outcome.COALESCED,
            Outcome.COALESCED,
        ]


def test_an_idle_process_decides_a_lone_message_at_once(api: Api, runtime: Runtime) -> None:
    run_ids = fire_many(api, routine_in(api), 2)
    with gate(runtime) as watched:
        watched.release.set()
        got = DecisionGroup().decide(runtime, run_ids)
    assert [d.outcome for d in got] == [Outcome.ISSUE_CREATED, Outcome.COALESCED]
    assert watched.commits == 1


def test_a_failed_transaction_fails_every_message_that_was_in_it(
    api: Api, runtime: Runtime
) -> None:
    """The broker then retries each of them: none is acked as if decided."""
    batches = messages(api)
    group = DecisionGroup(lanes=1)
    results: dict[int, list[Decision]] = {}
    errors: dict[int, BaseException] = {}

    def decide(n: int) -> Callable[[], None]:
        def run() -> None:
            try:
                results[n] = group.decide(runtime, batches[n])
            except OperationalError as error:
                errors[n] = error

        return run

    with gate(runtime) as held:
        first = start(decide(0))
        assert held.started.wait(10)
        others = [start(decide(n)) for n in range(1, MESSAGES)]
        wait_until(lambda: len(group._waiting) == MESSAGES - 1)
        held.fail_all_but = first
        held.release.set()
        for thread in [first, *others]:
            thread.join(10)
    assert sorted(errors) == [1, 2, 3]
    assert results[0][0].outcome == Outcome.ISSUE_CREATED


def test_a_second_lane_decides_while_the_first_is_held(api: Api, runtime: Runtime) -> None:
    """A transaction held up (a slow commit, a lock) does not hold every other message."""
    batches = messages(api)[:2]
    group = DecisionGroup(lanes=2)
    results: dict[int, list[Decision]] = {}

    def decide(n: int) -> Callable[[], None]:
        return lambda: results.setdefault(n, group.decide(runtime, batches[n]))

    with gate(runtime) as held:
        first = start(decide(0))
        assert held.started.wait(10)
        second = start(decide(1))
        second.join(10)
        assert not second.is_alive()
        assert first.is_alive()
        held.release.set()
        first.join(10)
    assert [d.run_id for d in results[1]] == batches[1]
    assert [d.run_id for d in results[0]] == batches[0]
