"""Group commit: what a process's threads ask of the database at one moment, done by one
of them in one transaction or statement, each thread getting back its own answer.

A thread that finds a lane free does whatever is waiting, its own request first; the
requests that arrive meanwhile wait for the next round, led by one of their own
threads. Batches grow with the load, so a round's fixed cost (statements, their
planning, the commit's flush, the round trips) is spread over several requests instead
of being paid by each, and a lone request in an idle process is done at once.

Every waiting thread is woken once, by its own lock: when its answer is there, or to
lead the next round (waking them all on a condition at every commit was an eighth of a
worker's Python time). An error of a round reaches every request in it, each thread
raising its own copy.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Does one round: one answer per request, in the requests' order.
Round = Callable[[Sequence[T]], Sequence[R]]


@dataclass
class _Ticket(Generic[T, R]):
    request: T
    answer: R | None = None
    error: BaseException | None = None
    done: bool = False
    #: Held until the ticket's thread is woken: its answer is there, or it leads next.
    wake: threading.Lock = field(default_factory=threading.Lock)


class Group(Generic[T, R]):
    """Requests of one kind, done `lanes` rounds at a time."""

    def __init__(self, lanes: int) -> None:
        self.lanes = lanes
        self._waiting: list[_Ticket[T, R]] = []
        self._leading = 0
        self._lock = threading.Lock()

    def waiting(self) -> int:
        """Requests waiting for a round to take them."""
        with self._lock:
            return len(self._waiting)

    def ask(self, request: T, round_: Round[T, R]) -> R:
        """`request`'s answer, from a round this thread or another one led; `round_` is
        what this thread does if it leads."""
        ticket: _Ticket[T, R] = _Ticket(request)
        ticket.wake.acquire()
        with self._lock:
            follow = self._leading >= self.lanes
            if follow:
                self._waiting.append(ticket)
            else:
                self._leading += 1
        if follow:
            ticket.wake.acquire()  # until answered, or handed the lead
            if ticket.done:
                return _answer(ticket)
        with self._lock:
            batch, self._waiting = [ticket, *self._waiting], []
        try:
            _run(batch, round_)
        finally:
            for other in batch[1:]:
                other.wake.release()
            with self._lock:
                successor = self._waiting.pop(0) if self._waiting else None
                if successor is None:
                    self._leading -= 1
            if successor is not None:  # it leads in this one's lane
                successor.wake.release()
        return _answer(ticket)


def _run(batch: list[_Ticket[T, R]], round_: Round[T, R]) -> None:
    try:
        answers = round_([ticket.request for ticket in batch])
    except BaseException as error:
        for ticket in batch:
            ticket.error, ticket.done = error, True
        raise
    for ticket, answer in zip(batch, answers, strict=True):
        ticket.answer, ticket.done = answer, True


def _answer(ticket: _Ticket[T, R]) -> R:
    """Another thread's error is raised here as a copy of its own, so that no exception
    object is raised in two threads at once."""
    if ticket.error is not None:
        raise copy.copy(ticket.error)
    return ticket.answer  # type: ignore[return-value]
