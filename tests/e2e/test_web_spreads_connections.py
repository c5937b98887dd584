"""The web process's gunicorn workers share a burst of new keep-alive connections
(web/gunicorn_conf.py: a SO_REUSEPORT listener per worker), instead of the first worker
up or awake accepting them all and serving them alone on one core's worth of GIL."""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

from devstack.processes import free_port, start_web
from tests.e2e.conftest import Stack

CONNECTIONS = 32
WORKERS = 2
ESTABLISHED, LISTENING = "01", "0A"


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def sockets_on(port: int, state: str) -> set[str]:
    """Inodes of the sockets on local `port` in `state` (/proc/net/tcp: 01 established,
    0A listening)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                found.add(fields[9])
    return found


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_burst_of_keep_alive_connections_is_shared_by_the_workers(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port, workers=WORKERS)
    clients: list[socket.socket] = []
    try:
        # One listener per worker, none shared: the kernel picks the worker.
        listeners = sockets_on(port, LISTENING)
        owned = [socket_inodes(pid) & listeners for pid in worker_pids(web.pid)]
        assert sorted(len(own) for own in owned) == [1] * WORKERS, owned
        assert set.union(*owned) == listeners
        # All connected at once, as a load generator or an edge's upstream pool does.
        for _ in range(CONNECTIONS):
            clients.append(socket.create_connection(("127.0.0.1", port)))
            clients[-1].sendall(b"GET /api/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        for client in clients:
            assert client.recv(4096).startswith(b"HTTP/1.1 200")
        served = sockets_on(port, ESTABLISHED)
        workers = worker_pids(web.pid)
        assert len(workers) == WORKERS
        held = Counter({pid: len(socket_inodes(pid) & served) for pid in workers})
        assert sum(held.values()) == CONNECTIONS, held
        # Hashed over two listeners, fewer than 6 of 32 on one: p < 0.0001.
        assert min(held.values()) >= 6, held
    finally:
        for client in clients:
            client.close()
        web.stop()
