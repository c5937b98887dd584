"""`routines web` runs the gunicorn of its own environment, so `.venv/bin/routines web`
works from a shell that never activated the virtualenv."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from launcher import cli


def test_web_execs_the_gunicorn_beside_its_python(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(cli.os, "execvp", lambda file, argv: seen.update(file=file, argv=argv))
    args = cli._parser().parse_args(["web", "--bind", "127.0.0.1:3999", "--workers", "1"])
    args.handler(args)
    assert seen["file"] == str(Path(sys.executable).parent / "gunicorn")
    assert seen["argv"][1:5] == ["--bind", "127.0.0.1:3999", "--workers", "1"]
    assert seen["argv"][-1] == "web.wsgi:app"
