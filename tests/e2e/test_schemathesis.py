"""Schemathesis, a tool others wrote, against the real web process on the test PostgreSQL
and Redis: every check, the stateful phase following the document's links, a fixed seed.
Its checks and deliberate deviations are in schemathesis.toml beside this file, each
explained."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from devstack.api import ADMIN_TOKEN
from devstack.processes import BIN, free_port, running, start_web
from tests.e2e.conftest import Stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
#: Examples per operation and phase: small in `make test`, larger under `make fuzz`.
EXAMPLES = int(os.environ.get("ROUTINES_SCHEMATHESIS_EXAMPLES", "10"))
SEED = 1


def test_schemathesis_finds_no_failure_with_every_check_and_the_stateful_phase(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    with running(web):
        argv = [
            str(BIN / "st"),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"http://127.0.0.1:{port}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {ADMIN_TOKEN}",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
        ]
        result = subprocess.run(
            argv, cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False
        )
    summary = result.stdout[result.stdout.find("SUMMARY") :]
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-4000:]
    assert "✅ Stateful" in summary, summary
    assert " passed" in summary, summary
