"""Open-loop load: prepared requests sent at a fixed rate whatever the answers, from a
Python asyncio client (Debian's wrk has no fixed-rate mode), so that a slow server cannot
hide its queueing. Bounded in count and in time; targets 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.payloads import Request
from bench.stack import HOST
from bench.stats import pct, rounded


def raw_http(request: Request, port: int) -> bytes:
    method, target, body, headers = request
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class _Conn:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    used_at: float


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        lowered = name.strip().lower()
        if lowered == "content-length":
            length = int(value.strip())
        elif lowered == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _open_loop(
    port: int,
    payloads: Sequence[bytes],
    rate: float,
    max_connections: int,
    timeout_s: float,
) -> dict[str, Any]:
    idle: list[_Conn] = []
    opened = 0
    slots = asyncio.Semaphore(max_connections)
    latencies: list[float] = []
    service: list[float] = []
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()

    async def one(payload: bytes, scheduled: float) -> None:
        nonlocal opened
        async with slots:
            conn = None
            while idle:
                candidate = idle.pop()
                if loop.time() - candidate.used_at < 3.0:  # gunicorn keepalive is 5 s
                    conn = candidate
                    break
                candidate.writer.close()
            try:
                if conn is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(HOST, port), timeout_s
                    )
                    opened += 1
                    conn = _Conn(reader, writer, loop.time())
                sent_at = loop.time()
                conn.writer.write(payload)
                status = await asyncio.wait_for(_read_response(conn.reader), timeout_s)
            except TimeoutError:
                errors["timeout"] += 1
                if conn is not None:
                    conn.writer.close()
                return
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                errors[type(error).__name__] += 1
                if conn is not None:
                    conn.writer.close()
                return
            done = loop.time()
            conn.used_at = done
            idle.append(conn)
            statuses[str(status)] += 1
            latencies.append((done - scheduled) * 1000)
            service.append((done - sent_at) * 1000)

    tasks = []
    start = loop.time() + 0.05
    for n, payload in enumerate(payloads):
        scheduled = start + n / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(payload, scheduled)))
    sent_for = loop.time() - start
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.writer.close()
    return {
        "latencies": latencies,
        "service": service,
        "statuses": dict(statuses),
        "socket_errors": dict(errors),
        "connections_opened": opened,
        "sent_for_s": sent_for,
        "finished_after_s": loop.time() - start,
    }


def open_loop(
    port: int,
    requests: Sequence[Request],
    *,
    rate: float,
    max_connections: int = 64,
    timeout_s: float = 10.0,
    ok_status: str = "202",
) -> dict[str, Any]:
    """Send `requests` at a fixed `rate` whatever the answers (open loop): latency counts
    from each request's scheduled time, so a slow server cannot hide its queueing."""
    payloads = [raw_http(r, port) for r in requests]
    cpu0 = time.process_time()
    got = asyncio.run(_open_loop(port, payloads, rate, max_connections, timeout_s))
    cpu = time.process_time() - cpu0
    statuses = got["statuses"]
    ok = statuses.get(ok_status, 0)
    other = {k: v for k, v in statuses.items() if k != ok_status}
    lat = got["latencies"]
    svc = got["service"]
    return {
        "generator": "python asyncio open loop",
        "target_rate_per_s": round(rate, 1),
        "sent": len(payloads),
        "duration_s": round(got["sent_for_s"], 2),
        "accepted": ok,
        "accepted_per_s": round(ok / got["sent_for_s"], 1) if got["sent_for_s"] else 0.0,
        "latency_ms": {
            "p50": rounded(pct(lat, 50), 2),
            "p90": rounded(pct(lat, 90), 2),
            "p99": rounded(pct(lat, 99), 2),
            "p999": rounded(pct(lat, 99.9), 2),
            "max": rounded(max(lat) if lat else None, 2),
            "mean": rounded(statistics.fmean(lat) if lat else None, 3),
        },
        "service_latency_ms": {
            "p50": rounded(pct(svc, 50), 2),
            "p99": rounded(pct(svc, 99), 2),
        },
        "errors": {"non_2xx_by_status": other, "socket": got["socket_errors"]},
        "error_count": sum(other.values()) + sum(got["socket_errors"].values()),
        "connections_opened": got["connections_opened"],
        "load_generator_cpu_cores": round(cpu / got["finished_after_s"], 2),
    }
