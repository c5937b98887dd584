"""The embedded mode's storage in a unit test: a migrated SQLite file in tmp_path, a
runtime over it with the test's clock, and the admin's API over the Flask test client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.api import Api, FlaskTransport
from shared.platform.clock import Clock
from shared.platform.migrate import upgrade_to_head
from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from web.app import create_app

ADMIN = "adm"


@contextmanager
def sqlite_runtime(tmp_path: Path, clock: Clock) -> Iterator[Runtime]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/r.db", redis_url=None, admin_token=ADMIN, secret_key="k"
    )
    upgrade_to_head(settings)
    built = build_runtime(settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


def admin_api(runtime: Runtime) -> Api:
    return Api(FlaskTransport(create_app(runtime=runtime).test_client()), token=ADMIN)
