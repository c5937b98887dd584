"""Fixed-window rate limits on the public fire endpoint, with time injected."""

from __future__ import annotations

import pytest

from shared.contract.errors import TooManyRequests
from shared.webhooks.ratelimit import FireBudget, MemoryCounter

MINUTE_START = 1_800_000_000.0 - (1_800_000_000.0 % 60)


def budget(
    counter: MemoryCounter,
    *,
    at: float,
    client: str = "1.2.3.4",
    per_trigger: int = 3,
    per_client: int = 100,
) -> FireBudget:
    return FireBudget(counter, client=client, per_trigger=per_trigger, per_client=per_client, at=at)


def hit(
    counter: MemoryCounter,
    *,
    at: float,
    public_id: str = "p1",
    client: str = "1.2.3.4",
    per_trigger: int = 3,
    per_client: int = 100,
) -> None:
    """A verified delivery: it spends its client's budget, then its trigger's."""
    spent = budget(counter, at=at, client=client, per_trigger=per_trigger, per_client=per_client)
    spent.spend_client()
    spent.spend_trigger(public_id)


def test_requests_under_the_trigger_limit_pass_and_the_next_is_429() -> None:
    counter = MemoryCounter()
    for second in range(3):
        hit(counter, at=MINUTE_START + second)
    with pytest.raises(TooManyRequests) as refused:
        hit(counter, at=MINUTE_START + 20.5)
    assert refused.value.retry_after == 40


def test_the_window_turns_and_the_trigger_may_fire_again() -> None:
    counter = MemoryCounter()
    for _ in range(3):
        hit(counter, at=MINUTE_START + 1)
    hit(counter, at=MINUTE_START + 61)


def test_limits_are_per_trigger() -> None:
    counter = MemoryCounter()
    for _ in range(3):
        hit(counter, at=MINUTE_START, public_id="a")
    hit(counter, at=MINUTE_START, public_id="b")


def test_one_client_is_limited_across_triggers() -> None:
    counter = MemoryCounter()
    for index in range(5):
        hit(counter, at=MINUTE_START, public_id=f"t{index}", per_client=5)
    with pytest.raises(TooManyRequests):
        hit(counter, at=MINUTE_START, public_id="t9", per_client=5)
    hit(counter, at=MINUTE_START, public_id="t9", client="5.6.7.8", per_client=5)


def test_a_zero_limit_is_off() -> None:
    counter = MemoryCounter()
    for _ in range(50):
        hit(counter, at=MINUTE_START, per_trigger=0, per_client=0)


def test_an_unverified_request_spends_only_its_clients_budget() -> None:
    counter = MemoryCounter()
    for _ in range(10):
        budget(counter, at=MINUTE_START, client="6.6.6.6").spend_client()
    for _ in range(3):
        hit(counter, at=MINUTE_START)
    with pytest.raises(TooManyRequests):
        hit(counter, at=MINUTE_START)
