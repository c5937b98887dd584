"""`python -m launcher.stop_once CMD` passes each stop signal to CMD once, however many
times it arrives (to the group and to the wrapper itself, as make and a group kill do),
and exits with CMD's status. Real processes: a child that records what it receives."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Records each SIGINT/SIGTERM it gets, one name a line; exits 0 half a second after the
#: first, so repeats would still find it alive.
CHILD = """
import os, signal, sys, time

log = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
got = []

def record(signum, frame):
    os.write(log, signal.Signals(signum).name.encode() + b"\\n")
    got.append(signum)

signal.signal(signal.SIGINT, record)
signal.signal(signal.SIGTERM, record)
print("ready", flush=True)
deadline = time.monotonic() + 20
while not got and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(0.5)
sys.exit(0 if got else 1)
"""


@contextmanager
def running(*argv: str) -> Iterator[subprocess.Popen[bytes]]:
    """The wrapper around argv, in a new session of its own so the test has a group;
    killed if still there at the end."""
    wrapper = subprocess.Popen(
        [sys.executable, "-m", "launcher.stop_once", *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        yield wrapper
    finally:
        if wrapper.poll() is None:
            os.killpg(wrapper.pid, signal.SIGKILL)
        wrapper.wait(10)
        assert wrapper.stdout is not None
        wrapper.stdout.close()


def wait_ready(wrapper: subprocess.Popen[bytes]) -> None:
    assert wrapper.stdout is not None
    readable, _, _ = select.select([wrapper.stdout], [], [], 10)
    assert readable, "the child never said ready"
    assert wrapper.stdout.readline() == b"ready\n"


def received(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize(
    ("sent", "expected"),
    [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT"), (signal.SIGHUP, "SIGTERM")],
)
def test_a_stop_signal_to_the_group_and_the_wrapper_reaches_the_child_once(
    tmp_path: Path, sent: signal.Signals, expected: str
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    log = tmp_path / "signals.log"
    with running(sys.executable, str(script), str(log)) as wrapper:
        wait_ready(wrapper)
        for _ in range(3):  # as a group kill and make's forwarding do, and then some
            os.killpg(wrapper.pid, sent)
            os.kill(wrapper.pid, sent)
            time.sleep(0.05)
        assert wrapper.wait(10) == 0
    assert received(log) == [expected]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("raise SystemExit(3)", 3),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + signal.SIGKILL),
    ],
)
def test_exits_with_the_childs_status_128_plus_n_for_signal_n(code: str, status: int) -> None:
    with running(sys.executable, "-c", code) as wrapper:
        assert wrapper.wait(10) == status


def test_a_command_that_cannot_run_is_127() -> None:
    with running("/nonexistent/command") as wrapper:
        assert wrapper.wait(10) == 127


def test_a_wrapper_killed_outright_still_stops_the_child(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    log = tmp_path / "signals.log"
    with running(sys.executable, str(script), str(log)) as wrapper:
        wait_ready(wrapper)
        wrapper.kill()
        wrapper.wait(10)
        deadline = time.monotonic() + 10
        while not received(log) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert received(log) == ["SIGTERM"]
