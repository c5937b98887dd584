"""clamp_limit: the ?limit= of run listings."""

from __future__ import annotations

import pytest

from shared.runs.reading import clamp_limit


def test_no_limit_means_fifty() -> None:
    assert clamp_limit(None) == 50


@pytest.mark.parametrize(("raw", "expected"), [("1", 1), ("20", 20), ("200", 200)])
def test_a_limit_within_range_is_kept(raw: str, expected: int) -> None:
    assert clamp_limit(raw) == expected


def test_a_limit_above_two_hundred_is_clamped() -> None:
    assert clamp_limit("201") == 200
    assert clamp_limit("100000") == 200


@pytest.mark.parametrize("raw", ["0", "-1", "-500"])
def test_a_zero_or_negative_limit_becomes_one(raw: str) -> None:
    assert clamp_limit(raw) == 1


@pytest.mark.parametrize("raw", ["", "ten", "1.5", "5x", "0x10"])
def test_a_limit_that_is_not_a_whole_number_is_the_default(raw: str) -> None:
    assert clamp_limit(raw) == 50
