"""The lock files match pyproject.toml: every pin there is the version locked, every
locked package carries hashes, and running needs nothing that only the tests use."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
RUNTIME = ROOT / "requirements.txt"
DEV = ROOT / "requirements-dev.txt"
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for line in requirements:
        match = PIN.match(line)
        assert match is not None, f"not a pin: {line}"
        found[normalize(match.group(1))] = match.group(2)
    return found


def locked(path: Path) -> dict[str, str]:
    """name -> version of each entry, checking that every entry has a hash."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", path.read_text())
    packages = [entry for entry in entries if PIN.match(entry)]
    for entry in packages:
        assert "--hash=sha256:" in entry, f"{path.name}: no hash for {entry.splitlines()[0]}"
    return pins([entry.splitlines()[0] for entry in packages])


@pytest.mark.parametrize(
    ("path", "declared"),
    [
        (RUNTIME, PYPROJECT["project"]["dependencies"]),
        (DEV, PYPROJECT["project"]["dependencies"]),
        (DEV, PYPROJECT["project"]["optional-dependencies"]["dev"]),
    ],
)
def test_every_pin_of_pyproject_is_the_locked_version(path: Path, declared: list[str]) -> None:
    lock = locked(path)
    for name, version in pins(declared).items():
        assert lock.get(name) == version, f"{name}=={version}: run `make lock`"


def test_running_installs_none_of_the_test_tools() -> None:
    runtime = locked(RUNTIME)
    dev_only = set(pins(PYPROJECT["project"]["optional-dependencies"]["dev"]))
    assert dev_only & set(runtime) == set()
    assert "croniter" not in runtime
