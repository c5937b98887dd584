"""`routines up` (what `make run` starts): everything in one process, nothing installed."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from devstack.api import Api, HttpTransport, make_world
from devstack.processes import free_port, running, start_embedded, wait_for


def printed_token(output: str) -> str:
    match = re.search(r"Admin token: (\S+)", output)
    assert match, output
    return match.group(1)


def test_embedded_mode_prints_a_working_token_and_curl_line(tmp_path: Path) -> None:
    port = free_port()
    service = start_embedded(tmp_path / "data", tmp_path, port=port)
    with running(service):
        token = printed_token(service.output())
        assert (tmp_path / "data" / "admin-token").read_text().strip() == token
        curl = service.output().split("Try:", 1)[1].strip().replace("\\\n", " ")
        result = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=30)
        assert '"issuePrefix": "ACME"' in result.stdout or '"issuePrefix":"ACME"' in result.stdout


def test_embedded_mode_fires_coalesces_and_completes(tmp_path: Path) -> None:
    port = free_port()
    service = start_embedded(tmp_path / "data", tmp_path, port=port)
    with running(service):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"), printed_token(service.output()))
        world = make_world(api, concurrencyPolicy="coalesce_if_active")
        runs = [
            api.ok("POST", f"/api/routines/{world.routine['id']}/run", {}, status=202)["id"]
            for _ in range(3)
        ]

        def statuses() -> list[str]:
            return sorted(api.ok("GET", f"/api/routine-runs/{r}")["status"] for r in runs)

        wait_for(lambda: "received" not in statuses(), timeout=30, what="decisions")
        assert statuses() == ["coalesced", "coalesced", "issue_created"]
        created = next(
            api.ok("GET", f"/api/routine-runs/{r}")
            for r in runs
            if api.ok("GET", f"/api/routine-runs/{r}")["status"] == "issue_created"
        )
        api.ok("PATCH", f"/api/issues/{created['linkedIssueId']}", {"status": "done"})
        assert api.ok("GET", f"/api/routine-runs/{created['id']}")["status"] == "completed"


def test_embedded_mode_keeps_its_token_across_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = start_embedded(data, tmp_path, port=free_port())
    with running(first):
        token = printed_token(first.output())
    (tmp_path / "embedded.log").rename(tmp_path / "first.log")
    second = start_embedded(data, tmp_path, port=free_port())
    with running(second):
        assert printed_token(second.output()) == token
