"""The `routines` command: help on every subcommand, the demo against a live service."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from devstack.api import Api, HttpTransport
from devstack.processes import BIN, free_port, running, start_embedded

COMMANDS = [
    [],
    ["up"],
    ["web"],
    ["worker"],
    ["scheduler"],
    ["db"],
    ["db", "upgrade"],
    ["admin-token"],
    ["demo"],
    ["secrets"],
    ["secrets", "re-encrypt"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "routines")
def test_every_command_explains_itself_with_help(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / "routines"), *command, "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "usage: routines" in result.stdout


def test_demo_creates_a_routine_with_each_trigger_kind_and_its_curl_lines_work(
    tmp_path: Path,
) -> None:
    port = free_port()
    service = start_embedded(tmp_path / "data", tmp_path, port=port)
    with running(service):
        base = f"http://127.0.0.1:{port}"
        env = {"ROUTINES_DATA_DIR": str(tmp_path / "data"), "PATH": str(BIN)}
        result = subprocess.run(
            [str(BIN / "routines"), "demo", "--url", base],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        routine_id = re.search(r"Routine (\S+) with triggers", result.stdout).group(1)  # type: ignore[union-attr]
        for kind in ("schedule", "webhook", "api"):
            assert f"  {kind}" in result.stdout
        webhook_curl = result.stdout.split("Fire the webhook:\n", 1)[1].splitlines()[0]
        fired = subprocess.run(
            ["curl", "-s", *_args(webhook_curl)], capture_output=True, text=True, timeout=30
        )
        assert '"source":"webhook"' in fired.stdout.replace(" ", "")
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        runs = Api(HttpTransport(base), token).ok("GET", f"/api/routines/{routine_id}/runs")
        assert [run["source"] for run in runs] == ["webhook"]


def _args(curl_line: str) -> list[str]:
    import shlex

    return shlex.split(curl_line.strip())[2:]
