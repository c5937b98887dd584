"""compose.yaml runs the image's own commands, after the release step, on its services.

No registry is reachable where the tests run, so the file is checked here rather than
by `podman-compose up`: every command must be one the `routines` CLI accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from launcher import cli

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"
PROCESSES = {"release": "db", "web": "web", "worker": "worker", "scheduler": "scheduler"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    return dict(document["services"])


def test_compose_has_the_databases_and_the_four_process_types(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "redis", *PROCESSES}


@pytest.mark.parametrize(("service", "command"), sorted(PROCESSES.items()))
def test_each_process_runs_the_images_routines_command(
    services: dict[str, Any], service: str, command: str
) -> None:
    spec = services[service]
    assert spec["image"] == "routines:0.1.0"
    assert spec["command"][0] == command
    cli._parser().parse_args(spec["command"])  # exits (fails the test) on an unknown option


@pytest.mark.parametrize("service", ["web", "worker", "scheduler"])
def test_the_long_running_processes_start_after_the_release_step(
    services: dict[str, Any], service: str
) -> None:
    depends = services[service]["depends_on"]
    assert depends["release"] == {"condition": "service_completed_successfully"}


def test_the_processes_share_one_configuration(services: dict[str, Any]) -> None:
    environments = [services[name]["environment"] for name in PROCESSES]
    assert all(env == environments[0] for env in environments)
    assert environments[0]["DATABASE_URL"].startswith("postgresql://")
    assert environments[0]["REDIS_URL"].startswith("redis://")
