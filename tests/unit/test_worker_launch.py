"""`routines worker` launches dramatiq as the Procfile and the manifests do; it caps
dramatiq's idle backoff, which dramatiq reads at import."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from launcher import cli


def launched(monkeypatch: pytest.MonkeyPatch, *argv: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def dramatiq_main(argv: list[str]) -> int:
        seen.update(file=argv[0], argv=argv, timeout=os.environ.get("dramatiq_worker_timeout"))  # noqa: SIM112 (dramatiq spells it so)
        return 0

    monkeypatch.setattr(cli, "dramatiq_main", dramatiq_main)
    args = cli._parser().parse_args(["worker", *argv])
    args.handler(args)
    return seen


def test_the_worker_polls_an_idle_queue_at_least_every_50_ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("dramatiq_worker_timeout", raising=False)
    seen = launched(monkeypatch)
    assert seen["file"] == "dramatiq"
    assert seen["timeout"] == "50"


def test_an_operators_own_value_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("dramatiq_worker_timeout", "200")
    assert launched(monkeypatch)["timeout"] == "200"


def test_the_procfile_sets_it_too() -> None:
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text()
    (worker,) = [line for line in procfile.splitlines() if line.startswith("worker:")]
    assert "dramatiq_worker_timeout=${dramatiq_worker_timeout:-50}" in worker


def test_sizes_come_from_the_procfiles_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_PROCESSES", "3")
    monkeypatch.setenv("WORKER_THREADS", "8")
    argv = launched(monkeypatch)["argv"]
    assert argv == ["dramatiq", "--processes", "3", "--threads", "8", "workers.main:setup"]


def test_a_shutdown_timeout_is_handed_to_dramatiq(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = launched(monkeypatch, "--shutdown-timeout-ms", "45000")["argv"]
    assert argv[-3:] == ["--worker-shutdown-timeout", "45000", "workers.main:setup"]
