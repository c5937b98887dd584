"""Waiting for a decision: a bounded number of waiters per process, woken by the
worker's announcement rather than by polling the database."""

from __future__ import annotations

import threading
import uuid

from shared.runs.waiting import DecisionBoard


class Run:
    """A run's state as the waiter reads it, counting the reads."""

    def __init__(self) -> None:
        self.decided = False
        self.reads = 0

    def undecided(self) -> bool:
        self.reads += 1
        return not self.decided


def test_an_announced_decision_wakes_the_waiter_with_few_reads() -> None:
    board, run, run_id = DecisionBoard(max_waiters=2), Run(), uuid.uuid4()
    waited: list[bool | None] = []
    waiter = threading.Thread(target=lambda: waited.append(board.wait(run_id, 20, run.undecided)))
    waiter.start()
    while run.reads == 0:
        threading.Event().wait(0.01)
    run.decided = True
    board.announce([run_id])
    waiter.join(10)
    assert waited == [True]
    assert run.reads <= 3, "woken by the announcement, not by polling"


def test_a_wait_that_is_never_announced_re_reads_about_once_a_second_then_gives_up() -> None:
    board, run = DecisionBoard(max_waiters=1), Run()
    assert board.wait(uuid.uuid4(), 2, run.undecided) is False
    assert 2 <= run.reads <= 4


def test_a_decision_made_before_the_wait_returns_at_once() -> None:
    board, run = DecisionBoard(max_waiters=1), Run()
    run.decided = True
    assert board.wait(uuid.uuid4(), 30, run.undecided) is True
    assert run.reads == 1


def test_beyond_the_bound_a_request_does_not_wait_at_all() -> None:
    board, first, second = DecisionBoard(max_waiters=1), Run(), Run()
    run_id = uuid.uuid4()
    waiter = threading.Thread(target=lambda: board.wait(run_id, 20, first.undecided))
    waiter.start()
    while first.reads == 0:
        threading.Event().wait(0.01)
    assert board.wait(uuid.uuid4(), 20, second.undecided) is None
    assert second.reads == 0
    first.decided = True
    board.announce([run_id])
    waiter.join(10)
    assert board.wait(uuid.uuid4(), 0, second.undecided) is False, "the slot is free again"


def test_a_bound_of_zero_turns_waiting_off() -> None:
    assert DecisionBoard(max_waiters=0).wait(uuid.uuid4(), 5, Run().undecided) is None


def test_announcing_runs_nobody_waits_for_is_harmless() -> None:
    DecisionBoard(max_waiters=1).announce([uuid.uuid4(), uuid.uuid4()])
