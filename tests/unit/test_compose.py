"""compose.yaml runs the image's own commands, after the release step, on its services,
behind the edge (nginx with deploy/nginx.conf).

No registry is reachable where the tests run, so the file is checked here rather than
by `podman-compose up`: every command must be one the `routines` CLI accepts, and the
edge's command, run here with the local nginx, must render a configuration nginx accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from launcher import cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
PROCESSES = {"release": "db", "web": "web", "worker": "worker", "scheduler": "scheduler"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    return dict(document["services"])


def test_compose_has_the_databases_and_the_four_process_types(services: dict[str, Any]) -> None:
    assert set(services) == {"postgres", "redis", "edge", *PROCESSES}


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


def test_only_the_edge_is_published_and_it_forwards_to_web(services: dict[str, Any]) -> None:
    edge = services["edge"]
    assert edge["ports"] == ["127.0.0.1:3100:3100"]
    assert "ports" not in services["web"]
    web_port = services["web"]["command"][-1].rpartition(":")[2]
    assert edge["environment"]["ROUTINES_EDGE_UPSTREAM"] == f"web:{web_port}"
    assert "./deploy/nginx.conf:/etc/routines/nginx.conf:ro" in edge["volumes"]
    assert services["web"]["environment"]["ROUTINES_PROXY_HOPS"] == "1"


def test_the_edges_command_renders_a_configuration_nginx_accepts(
    services: dict[str, Any], tmp_path: Path
) -> None:
    """The service's own shell line, with compose's `$$` unescaped, its paths moved into
    tmp_path, web's name replaced by loopback (nothing resolves `web` here) and `nginx -t`."""
    missing = [tool for tool in ("nginx", "envsubst") if not find(tool)]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must check the edge: {missing} missing (.ci/run installs nginx)")
        pytest.skip(f"{missing} not installed")
    edge = services["edge"]
    line = edge["command"][0].replace("$$", "$")
    line = line.replace("/etc/routines/nginx.conf", str(ROOT / "deploy" / "nginx.conf"))
    line = line.replace("/tmp/edge", str(tmp_path / "edge"))
    line = line.replace("exec nginx", f"exec {find('nginx')} -t")
    env = {**edge["environment"], "ROUTINES_EDGE_UPSTREAM": "127.0.0.1:3100"}
    done = subprocess.run(
        [*edge["entrypoint"], line], env={"PATH": os.environ["PATH"], **env}, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    rendered = (tmp_path / "edge" / "nginx.conf").read_text()
    assert "listen 0.0.0.0:3100;" in rendered
    assert "$proxy_add_x_forwarded_for" in rendered


def find(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/local/sbin")
