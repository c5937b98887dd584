"""Fixtures of the trigger tests: the API on a clock that only moves when told to, so
that every `nextRunAt` is a literal, and a routine to add triggers to."""

from __future__ import annotations

import pytest

from devstack.api import Api, World, make_world


@pytest.fixture
def api(sched_api: Api) -> Api:
    """Every request of these tests on the clock that only moves when told to."""
    return sched_api


@pytest.fixture
def world(api: Api) -> World:
    return make_world(api)
