"""The container image, built from the repository's Dockerfile, runs every process type:
migrations, web, worker and scheduler in containers as UID 10001, against real
PostgreSQL and Redis; a webhook fired over HTTP becomes a decided run.

Selected alone with `pytest -m container`. Needs podman (with runc and mmdebstrap);
outside CI it skips without them, in CI (`CI=true`) it fails: `.ci/run` installs them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devstack.api import Api, HttpTransport, make_unsigned_hook, make_world
from devstack.processes import answers, free_port, wait_for
from devstack.services import (
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)
from tests.support.containers import (
    IMAGE,
    Container,
    Podman,
    build_image,
    ensure_base,
    process_ids,
    run_once,
)

pytestmark = [pytest.mark.e2e, pytest.mark.container]

#: The UID and GID k8s/base runs every pod as, and the image's own user.
SERVICE_ID = 10001
#: Prints what the final image should not carry: installers, dev tools, compilers.
LOOK_FOR_BUILD_TOOLS = """
import importlib.util, shutil
modules = ("pip", "setuptools", "pytest", "mypy", "ruff", "hypothesis", "fakeredis")
print(*[m for m in modules if importlib.util.find_spec(m)])
print(*[c for c in ("gcc", "cc", "c++", "make") if shutil.which(c)])
"""


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    missing = [tool for tool in ("podman", "runc", "mmdebstrap") if shutil.which(tool) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (apt-get install podman runc mmdebstrap)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must build the image: {reason}")
        pytest.skip(reason)
    return Podman(str(shutil.which("podman")), tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    """routines:0.1.0 from the Dockerfile, on ROUTINES_IMAGE_BASE if given, else on a
    local Debian bookworm base."""
    base = os.environ.get("ROUTINES_IMAGE_BASE") or ensure_base(podman, now=datetime.now(UTC))
    build_image(podman, base=base)
    return IMAGE


@pytest.fixture
def distributed(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh database and Redis namespace, as the containers' environment."""
    redis_client()
    database_url = create_database("routines_image")
    namespace = new_namespace()
    yield {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "ROUTINES_BROKER_NAMESPACE": namespace,
        "ROUTINES_ADMIN_TOKEN": "admin-test-token",
        "ROUTINES_SECRET_KEY": "test-secret-key",
    }
    drop_database(database_url)
    delete_namespace(namespace)


def test_the_image_has_neither_build_tools_nor_dev_dependencies(podman: Podman, image: str) -> None:
    found = podman("run", "--rm", "--entrypoint=python3", image, "-c", LOOK_FOR_BUILD_TOOLS)
    assert found.split() == []


def test_the_image_migrates_serves_and_decides_a_webhook_run_as_uid_10001(
    podman: Podman, image: str, distributed: dict[str, str]
) -> None:
    assert "database is at head" in run_once(podman, ["db", "upgrade"], distributed)
    port, worker_port, scheduler_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    web_env = {**distributed, "ROUTINES_PUBLIC_URL": url}
    started: list[Container] = []
    try:
        web = start(started, podman, "web", ["web", "--bind", f"127.0.0.1:{port}"], web_env)
        worker = start(
            started,
            podman,
            "worker",
            ["worker", "--threads", "2"],
            {**distributed, "ROUTINES_METRICS_PORT": str(worker_port)},
        )
        scheduler = start(
            started,
            podman,
            "scheduler",
            ["scheduler"],
            {**distributed, "ROUTINES_METRICS_PORT": str(scheduler_port)},
        )
        wait_ready(web, f"{url}/api/health")
        wait_ready(worker, f"http://127.0.0.1:{worker_port}/health")
        wait_ready(scheduler, f"http://127.0.0.1:{scheduler_port}/health")

        api = Api(HttpTransport(url))
        world = make_world(api)
        hook_path = make_unsigned_hook(api, world.routine)
        run = api.as_(None).ok("POST", hook_path, {"event": "ping"}, status=202)
        wait_for(
            lambda: api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] != "received",
            timeout=30,
            what="the worker container's decision",
        )
        assert api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] == "issue_created"

        for container in started:
            assert process_ids(container.host_pid()) == (SERVICE_ID, SERVICE_ID), container.name
        for container in started:
            assert container.stop() == 0, f"{container.name}:\n{container.logs()[-3000:]}"
    finally:
        for container in started:
            container.remove()


def start(
    started: list[Container], podman: Podman, role: str, argv: list[str], env: dict[str, str]
) -> Container:
    container = Container(podman, role, argv, env)
    started.append(container)
    return container


def wait_ready(container: Container, url: str) -> None:
    def ready() -> bool:
        if not container.running():
            raise RuntimeError(f"{container.name} exited:\n{container.logs()[-3000:]}")
        return answers(url)

    try:
        wait_for(ready, timeout=60, what=f"{container.name} at {url}")
    except TimeoutError as error:
        raise TimeoutError(f"{error}\n{container.logs()[-3000:]}") from None
