"""`python -m launcher.stop_once CMD ARGS...`: run CMD and pass it each stop signal once.

Why: `make run-distributed` ends in `exec honcho start`, so honcho sat in make's process
group. A SIGTERM to that group reached honcho directly, and GNU make forwards a fatal
signal to its children as well, so honcho got SIGTERM twice. honcho's handler prints
through a multiprocessing.Queue, whose `put` holds a non-reentrant lock; Python runs
handlers on the main thread between bytecodes, so the second handler could run inside
the first one's `put` and wait forever on a lock its own thread held: honcho never
stopped its processes (the class of bug of django-q2#346 and sabnzbd#3534).

So CMD runs in a session of its own (group signals never reach it), and this process
takes SIGINT, SIGTERM and SIGHUP with `sigtimedwait` (no Python handler to re-enter),
forwards the first one (SIGHUP as SIGTERM) and ignores the rest: honcho kills its
processes outright 5 s after the first anyway. It exits with CMD's status (128+N when
signal N ended CMD). Should this process itself be killed outright, the kernel sends
CMD a SIGTERM (a parent-death signal, Linux), so honcho never outlives it unnoticed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import signal
import subprocess
import sys

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
#: What each stop signal is passed on as.
FORWARD_AS = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM}
#: prctl(2) option: the signal this process gets when its parent dies.
PR_SET_PDEATHSIG = 1


def _prepare_child() -> None:
    """In the child, between fork and exec: it starts with the stop signals unblocked,
    and gets SIGTERM if this process dies (where prctl exists: Linux)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run(argv: list[str]) -> int:
    """Run argv to its end, passing on the first stop signal only; its exit status."""
    # Blocked before the child exists, so a signal that comes early waits for sigtimedwait.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        child = subprocess.Popen(  # noqa: S603 (the operator's own command line)
            argv, start_new_session=True, preexec_fn=_prepare_child
        )
    except OSError as error:
        print(f"stop_once: cannot run {argv[0]}: {error.strerror}", file=sys.stderr)
        return 127
    forwarded = False
    while child.poll() is None:
        info = signal.sigtimedwait(STOP_SIGNALS, 0.2)
        if info is not None and not forwarded:
            forwarded = True
            child.send_signal(FORWARD_AS.get(signal.Signals(info.si_signo), signal.SIGTERM))
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m launcher.stop_once CMD [ARGS...]", file=sys.stderr)
        return 2
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
