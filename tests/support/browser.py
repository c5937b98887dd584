"""Debian's headless Chromium, for the tests that look at a page as a browser runs it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(url: str, profile: Path, *extra: str, budget_ms: int = 8000) -> str:
    """Run Debian's headless Chromium on `url` after letting its scripts run for
    `budget_ms` of virtual time; its stdout (the DOM with --dump-dom)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    argv = [
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        *extra,
        url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    return result.stdout
