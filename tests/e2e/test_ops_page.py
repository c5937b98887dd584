"""/ops in a real headless Chromium: it loads, asks for nothing more than the token in
its fragment, and draws its charts from live data."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from devstack.api import Api, HttpTransport, fire, make_world
from devstack.processes import free_port, running, start_embedded, wait_for
from tests.support.browser import chromium


def test_ops_page_renders_counters_charts_and_failed_runs(tmp_path: Path) -> None:
    port = free_port()
    service = start_embedded(tmp_path / "data", tmp_path, port=port)
    with running(service):
        token = re.search(r"Admin token: (\S+)", service.output()).group(1)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        api = Api(HttpTransport(base), token)
        world = make_world(api, concurrencyPolicy="always_enqueue")
        runs = [fire(api, world.routine)["id"] for _ in range(3)]
        doomed = make_world(api)
        failing = fire(api, doomed.routine)["id"]
        wait_for(
            lambda: all(
                api.ok("GET", f"/api/routine-runs/{r}")["status"] != "received"
                for r in [*runs, failing]
            ),
            timeout=30,
            what="decisions",
        )
        issue = api.ok("GET", f"/api/routine-runs/{failing}")["linkedIssueId"]
        api.ok("PATCH", f"/api/issues/{issue}", {"status": "cancelled"})
        summary = api.ok("GET", "/api/ops/summary")
        assert summary["totals"] == {"routines": 2, "received": 0}
        assert (summary["window_minutes"], summary["window_runs"]) == (
            30,
            {"issue_created": 3, "failed": 1},
        )
        assert api.as_(None).get("/api/ops/summary").status == 401

        dom = chromium(f"{base}/ops#token={token}", tmp_path / "profile", "--dump-dom")
        assert 'data-loaded="true"' in dom
        for chart in ("fires-chart", "decisions-chart"):
            box = re.search(rf'<div[^>]*id="{chart}"[^>]*>(.*?)</div>\s*</section>', dom, re.S)
            assert box, chart
            assert 'data-rendered="true"' in box.group(0)
            assert "<polyline" in box.group(1)
        assert 'data-series="manual"' in dom
        window = re.search(
            r'id="window-title">([^<]*)</h2>\s*<div[^>]*>(.*?)</div>\s*</section>', dom, re.S
        )
        assert window, "the runs of the window"
        assert window.group(1) == "Runs fired in the last 30 min, by status now"
        assert "<b>3</b><span>issue created</span>" in window.group(2)
        assert '<b class="bad">1</b><span>failed</span>' in window.group(2)
        assert "Execution issue moved to cancelled" in dom
        assert token not in dom, "the token must not end up in the page"

        screenshot = tmp_path / "ops.png"
        chromium(
            f"{base}/ops#token={token}",
            tmp_path / "profile2",
            f"--screenshot={screenshot}",
            "--window-size=1280,900",
        )
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert screenshot.stat().st_size > 20_000
        keep = os.environ.get("ROUTINES_OPS_SCREENSHOT")
        if keep:
            shutil.copy(screenshot, keep)
