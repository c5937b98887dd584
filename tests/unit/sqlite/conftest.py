"""The embedded mode's storage for every module here: a migrated SQLite file per test,
a runtime over it on the test's clock, and the admin's API (tests.support.sqlite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.api import Api
from shared.platform.runtime import Runtime
from tests.support.clock import FixedClock
from tests.support.sqlite import admin_api, sqlite_runtime


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    with sqlite_runtime(tmp_path, clock) as built:
        yield built


@pytest.fixture
def api(runtime: Runtime) -> Api:
    return admin_api(runtime)
