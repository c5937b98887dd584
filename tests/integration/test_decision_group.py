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


class Deciders:
    """Threads deciding the messages `batches` through one group, each recording its
    decisions, or the OperationalError it raised, under its message's index."""

    def __init__(self, runtime: Runtime, group: DecisionGroup, batches: list[list[uuid.UUID]]):
        self.runtime, self.group, self.batches = runtime, group, batches
        self.results: dict[int, list[Decision]] = {}
        self.errors: dict[int, BaseException] = {}

    def start(self, n: int) -> threading.Thread:
        def run() -> None:
            try:
                self.results[n] = self.group.decide(self.runtime, self.batches[n])
            except OperationalError as error:
                self.errors[n] = error

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def first_held_then_the_rest_queued(self, held: Gate) -> list[threading.Thread]:
        """Message 0 stopped at its first statement, every other one waiting behind it."""
        first = self.start(0)
        assert held.started.wait(10)
        others = [self.start(n) for n in range(1, len(self.batches))]
        wait_until(lambda: self.group.waiting() == len(self.batches) - 1)
        return [first, *others]


def test_messages_arriving_during_a_transaction_are_decided_in_the_next_one(
    api: Api, runtime: Runtime
) -> None:
    batches = messages(api)
    deciders = Deciders(runtime, DecisionGroup(lanes=1), batches)
    with gate(runtime) as held:
        threads = deciders.first_held_then_the_rest_queued(held)
        held.release.set()
        for thread in threads:
            thread.join(10)
    assert held.commits == 2  # the held message's, then the three that waited, together
    for n, run_ids in enumerate(batches):
        got = deciders.results[n]
        assert [d.run_id for d in got] == run_ids  # its own runs, in its order
        assert [d.outcome for d in got] == [
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
    deciders = Deciders(runtime, DecisionGroup(lanes=1), messages(api))
    with gate(runtime) as held:
        threads = deciders.first_held_then_the_rest_queued(held)
        held.fail_all_but = threads[0]
        held.release.set()
        for thread in threads:
            thread.join(10)
    assert sorted(deciders.errors) == [1, 2, 3]
    assert deciders.results[0][0].outcome == Outcome.ISSUE_CREATED


def test_a_second_lane_decides_while_the_first_is_held(api: Api, runtime: Runtime) -> None:
    """A transaction held up (a slow commit, a lock) does not hold every other message."""
    batches = messages(api)[:2]
    deciders = Deciders(runtime, DecisionGroup(lanes=2), batches)
    with gate(runtime) as held:
        first = deciders.start(0)
        assert held.started.wait(10)
        second = deciders.start(1)
        second.join(10)
        assert not second.is_alive()
        assert first.is_alive()
        held.release.set()
        first.join(10)
    assert [d.run_id for d in deciders.results[1]] == batches[1]
    assert [d.run_id for d in deciders.results[0]] == batches[0]
