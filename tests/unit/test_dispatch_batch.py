"""The web's dispatch batcher: every run id it is given reaches the workers, in far
fewer messages than runs."""

from __future__ import annotations

import threading
import time
import uuid

import dramatiq
from dramatiq.brokers.stub import StubBroker

from shared.platform.broker import DISPATCH_BATCH, DISPATCH_MANY_ACTOR, DISPATCH_QUEUE, Enqueuer
from shared.runs.dispatch_batch import DispatchBatcher


def sent(broker: StubBroker) -> list[list[str]]:
    """The run ids of each dispatch message waiting on the queue."""
    queue = broker.queues[DISPATCH_QUEUE]
    messages = []
    while not queue.empty():
        message = queue.get_nowait()
        messages.append(message)
    decoded = [dramatiq.Message.decode(m)._asdict() for m in messages]
    assert {m["actor_name"] for m in decoded} <= {DISPATCH_MANY_ACTOR}
    return [m["args"][0] for m in decoded]


def new_broker() -> StubBroker:
    broker = StubBroker()
    broker.declare_queue(DISPATCH_QUEUE)
    return broker


def wait_until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError("not sent in time")


def test_runs_given_by_many_threads_arrive_in_a_few_messages() -> None:
    broker = new_broker()
    batcher = DispatchBatcher(Enqueuer(broker), linger_seconds=0.05)
    ids = [uuid.uuid4() for _ in range(300)]
    threads = [
        threading.Thread(target=lambda part=ids[i::10]: [batcher.add(r) for r in part])
        for i in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(lambda: broker.queues[DISPATCH_QUEUE].qsize() > 0)
    time.sleep(0.2)
    batches = sent(broker)
    got = [run_id for batch in batches for run_id in batch]
    assert sorted(got) == sorted(str(r) for r in ids), "every run once, none lost or doubled"
    assert len(batches) < 30
    assert all(len(batch) <= DISPATCH_BATCH for batch in batches)


def test_a_lone_run_goes_after_the_linger_without_more_traffic() -> None:
    broker = new_broker()
    batcher = DispatchBatcher(Enqueuer(broker), linger_seconds=0.01)
    run_id = uuid.uuid4()
    batcher.add(run_id)
    wait_until(lambda: broker.queues[DISPATCH_QUEUE].qsize() == 1)
    assert sent(broker) == [[str(run_id)]]


def test_flush_sends_what_is_pending_at_once() -> None:
    broker = new_broker()
    batcher = DispatchBatcher(Enqueuer(broker), linger_seconds=60)
    first, second = uuid.uuid4(), uuid.uuid4()
    batcher.add(first)
    batcher.add(second)
    batcher.flush()
    assert sent(broker) == [[str(first), str(second)]]


def test_no_linger_sends_each_run_in_the_request() -> None:
    broker = new_broker()
    batcher = DispatchBatcher(Enqueuer(broker), linger_seconds=0)
    run_id = uuid.uuid4()
    batcher.add(run_id)
    queue = broker.queues[DISPATCH_QUEUE]
    assert queue.qsize() == 1
    assert list(dramatiq.Message.decode(queue.get_nowait()).args) == [str(run_id)]
