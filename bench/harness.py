"""What bench/fire.py and bench/memory.py share: the distributed stack on loopback, the
fixtures, signed request generation, the wrk and open-loop load generators, and the
readings of CPU time and resident memory from /proc.

Every load loop here is bounded in count and in time and targets 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import math
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, create_engine, text

from devstack.api import Api, HttpTransport, make_agent, make_company, make_project
from devstack.processes import (
    BIN,
    Process,
    answers,
    distributed_env,
    free_port,
    run_release,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from devstack.services import (
    PG_ADMIN_URL,
    REDIS_URL,
    create_database,
    delete_namespace,
    drop_database,
    new_namespace,
    redis_client,
)

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
LUA = ROOT / "bench" / "fire.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def say(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """How this run was started, as recorded with its figures: `python -m bench.X ...`."""
    return " ".join(["python", "-m", module, *(sys.argv[1:] if argv is None else argv)])


def pct(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


# --- machine facts -------------------------------------------------------------------------


def git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine_facts() -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.connect() as connection:
            pg_version = connection.scalar(text("SHOW server_version"))
            sync_commit = connection.scalar(text("SHOW synchronous_commit"))
            fsync = connection.scalar(text("SHOW fsync"))
    finally:
        admin.dispose()
    redis_info = redis_client().info("server")
    wrk = shutil.which("wrk")
    wrk_version = "missing"
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        wrk_version = (out.stdout or out.stderr).splitlines()[0].strip()
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "postgresql_synchronous_commit": sync_commit,
        "postgresql_fsync": fsync,
        "redis": redis_info.get("redis_version"),
        "wrk": wrk_version,
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_tracked_changes": bool(status) if status != "unknown" else None,
    }


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench: wrk is not installed. Install it with `apt-get install -y wrk` "
            "(Debian's package; `make bench` does this when run as root)."
        )
    return wrk


# --- /proc readings ------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces; the fields after it are fixed.
    return raw[raw.rindex(")") + 2 :].split()


def group_pids(pgid: int) -> list[int]:
    """Every live process of a process group (Process starts each in its own session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def pids_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                comm = (entry / "comm").read_text().strip()
                if comm.startswith(names):
                    found.append(int(entry.name))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU of the processes and of their reaped children."""
    ticks = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            ticks += sum(int(v) for v in fields[11:15])
    return ticks / CLK_TCK


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


class CpuMeter:
    """CPU seconds used by each named set of processes between start() and stop()."""

    def __init__(self, groups: dict[str, Process], engine: Engine | None = None) -> None:
        self.groups = groups
        self.engine = engine
        self._start: dict[str, float] = {}
        self._busy = (0.0, 0.0)
        self._t = 0.0

    def _read(self) -> dict[str, float]:
        got = {name: cpu_seconds(group_pids(p.pid)) for name, p in self.groups.items()}
        if self.engine is not None:
            # Only the backends serving this run's database: the server is shared.
            with self.engine.connect() as connection:
                pids = connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                ).all()
            got["postgresql (this database)"] = cpu_seconds(pids)
        got["redis-server"] = cpu_seconds(pids_named("redis-server"))
        return got

    def start(self) -> None:
        self._start = self._read()
        self._busy = machine_busy()
        self._t = time.monotonic()

    def stop(self, extra: dict[str, float] | None = None) -> dict[str, Any]:
        end = self._read()
        busy, total = machine_busy()
        wall = time.monotonic() - self._t
        used = {name: max(0.0, end[name] - self._start.get(name, 0.0)) for name in end}
        used.update(extra or {})
        cores = os.cpu_count() or 1
        busy_share = (busy - self._busy[0]) / max(1.0, total - self._busy[1])
        shares = {name: round(v / wall, 2) for name, v in used.items()} if wall else {}
        shares["everything else"] = round(max(0.0, busy_share * cores - sum(shares.values())), 2)
        return {
            "wall_s": round(wall, 2),
            "machine_busy_pct_of_all_cores": round(100 * busy_share, 1),
            "cores_used": shares,
            "cores": cores,
        }


def wait_quiet(
    max_wait: float, threshold_pct: float = 25.0, settle: float = 10.0
) -> dict[str, Any]:
    """Wait (at most max_wait s) until the machine has been mostly idle for `settle`
    seconds, since other work on it distorts every figure; what was seen is recorded
    with the results (and each phase records the CPU that other processes took)."""
    started = time.monotonic()
    told = -60.0
    quiet_since: float | None = None
    busy = 100.0
    while True:
        b0, t0 = machine_busy()
        time.sleep(2)
        b1, t1 = machine_busy()
        busy = 100 * (b1 - b0) / max(1.0, t1 - t0)
        now = time.monotonic()
        waited = now - started
        if busy >= threshold_pct:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now - 2
        settled = quiet_since is not None and now - quiet_since >= settle
        if settled or waited >= max_wait:
            return {
                "busy_pct_before_start": round(busy, 1),
                "waited_s": round(waited, 1),
                "loadavg": Path("/proc/loadavg").read_text().split()[:3],
                "quiet": settled,
            }
        if waited - told >= 30:
            told = waited
            say(f"machine {busy:.0f}% busy with other work; waiting (at most {max_wait:.0f} s)")


# --- the stack -----------------------------------------------------------------------------


@dataclass
class Sizes:
    web_workers: int = 2
    web_threads: int = 4
    worker_processes: int = 1
    worker_threads: int = 4


@dataclass
class Stack:
    env: dict[str, str]
    database_url: str
    namespace: str
    log_dir: Path
    port: int
    admin_token: str
    engine: Engine
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def api(self) -> Api:
        return Api(HttpTransport(self.base_url), token=self.admin_token)


@contextlib.contextmanager
def distributed_stack(
    sizes: Sizes, *, scheduler: bool = False, worker: bool = True, keep_logs: bool = False
) -> Iterator[Stack]:
    """A fresh database (migrated by the release step) and Redis namespace, gunicorn and
    dramatiq (and the scheduler) as separate processes; all removed afterwards."""
    redis_client()
    database_url = create_database("routines_bench")
    namespace = new_namespace("routines-bench")
    log_dir = Path(tempfile.mkdtemp(prefix="routines-bench-"))
    admin_token = secrets.token_hex(24)
    env = distributed_env(
        database_url,
        REDIS_URL,
        namespace,
        ROUTINES_ADMIN_TOKEN=admin_token,
        ROUTINES_SECRET_KEY=secrets.token_hex(32),
        ROUTINES_RATE_LIMIT_PER_TRIGGER="0",
        ROUTINES_RATE_LIMIT_PER_CLIENT="0",
        WEB_THREADS=str(sizes.web_threads),
    )
    engine = create_engine(database_url, pool_size=2)
    stack = Stack(env, database_url, namespace, log_dir, free_port(), admin_token, engine)
    ok = False
    try:
        run_release(env)
        stack.processes["web"] = start_web(env, log_dir, port=stack.port, workers=sizes.web_workers)
        if worker:
            stack.processes["worker"] = start_worker(
                env, log_dir, processes=sizes.worker_processes, threads=sizes.worker_threads
            )
        if scheduler:
            stack.processes["scheduler"] = start_scheduler(env, log_dir)
        yield stack
        ok = True
    finally:
        for process in stack.processes.values():
            with contextlib.suppress(Exception):
                process.stop()
        engine.dispose()
        drop_database(database_url)
        delete_namespace(namespace)
        if ok and not keep_logs:
            shutil.rmtree(log_dir, ignore_errors=True)
        else:
            say(f"process logs kept in {log_dir}")


def start_noop(sizes: Sizes, log_dir: Path, web_env: Mapping[str, str]) -> tuple[Process, int]:
    """bench/noop_app.py under the web process's gunicorn settings and environment (its
    config module refuses to start without the web process's settings)."""
    port = free_port()
    argv = [
        str(BIN / "gunicorn"),
        "--config", "python:web.gunicorn_conf",
        "--bind", f"{HOST}:{port}",
        "--workers", str(sizes.web_workers),
        "bench.noop_app:app",
    ]  # fmt: skip
    folder = log_dir / "noop-metrics"
    folder.mkdir(exist_ok=True)
    env = {**web_env, "WEB_THREADS": str(sizes.web_threads)}
    process = Process("noop", argv, {**env, "PROMETHEUS_MULTIPROC_DIR": str(folder)}, log_dir)
    wait_for(lambda: answers(f"http://{HOST}:{port}/health"), timeout=30, what="no-op app")
    return process, port


def wait_worker_ready(stack: Stack, timeout: float = 60) -> None:
    """The worker consumes once a manual run gets decided."""
    api = stack.api()
    routine = make_routine_with_policy(api, *_world(api), "always_enqueue", "warm-up")
    run = api.ok("POST", f"/api/routines/{routine['id']}/run", {}, status=202)

    def decided() -> bool:
        return api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] != "received"

    wait_for(decided, timeout=timeout, what="the worker to decide a first run")


# --- fixtures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    routine_id: str
    public_id: str
    path: str
    secret: str


_WORLD: dict[int, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def _world(api: Api) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    key = id(api.transport)
    if key not in _WORLD:
        company = make_company(api, "Bench")
        _WORLD[key] = (company, make_agent(api, company), make_project(api, company))
    return _WORLD[key]


def make_routine_with_policy(
    api: Api,
    company: dict[str, Any],
    agent: dict[str, Any],
    project: dict[str, Any],
    policy: str,
    title: str,
) -> dict[str, Any]:
    body = {
        "title": title,
        "assigneeAgentId": agent["id"],
        "projectId": project["id"],
        "concurrencyPolicy": policy,
    }
    return api.ok("POST", f"/api/companies/{company['id']}/routines", body)


def make_webhook_targets(api: Api, count: int, policy: str, label: str) -> list[Target]:
    """`count` routines with one hmac_sha256 webhook trigger each (replay window one day,
    so that requests signed before the run stay valid through it)."""
    company, agent, project = _world(api)
    targets = []
    for n in range(count):
        routine = make_routine_with_policy(api, company, agent, project, policy, f"{label} {n}")
        created = api.ok(
            "POST",
            f"/api/routines/{routine['id']}/triggers",
            {"kind": "webhook", "signingMode": "hmac_sha256", "replayWindowSec": 86400},
            status=201,
        )
        material = created["secretMaterial"]
        path = urlsplit(material["webhookUrl"]).path
        targets.append(
            Target(routine["id"], created["trigger"]["publicId"], path, material["webhookSecret"])
        )
    return targets


def make_manual_routines(api: Api, count: int, policy: str, label: str) -> list[str]:
    company, agent, project = _world(api)
    return [
        make_routine_with_policy(api, company, agent, project, policy, f"{label} {n}")["id"]
        for n in range(count)
    ]


# --- requests ------------------------------------------------------------------------------

#: (method, path, body, headers)
Request = tuple[str, str, bytes, dict[str, str]]


def _body(seq: int, kind: str) -> bytes:
    document = {
        "event": f"bench.{kind}",
        "seq": seq,
        "nonce": secrets.token_hex(8),
        "sentAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "data": {"repository": "acme/widgets", "ref": "refs/heads/main", "size": seq % 97},
    }
    return json.dumps(document, separators=(",", ":")).encode()


def signed_webhooks(targets: Sequence[Target], count: int, start: int = 0) -> list[Request]:
    """`count` distinct, validly signed webhook fires, spread round-robin over targets."""
    timestamp = str(int(time.time()))
    out: list[Request] = []
    for seq in range(start, start + count):
        target = targets[seq % len(targets)]
        body = _body(seq, "webhook")
        digest = hmac.new(
            target.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Paperclip-Timestamp": timestamp,
            "X-Paperclip-Signature": f"sha256={digest}",
        }
        out.append(("POST", target.path, body, headers))
    return out


def manual_runs(
    routine_ids: Sequence[str], token: str, count: int, start: int = 0
) -> list[Request]:
    out: list[Request] = []
    for seq in range(start, start + count):
        routine_id = routine_ids[seq % len(routine_ids)]
        body = json.dumps(
            {"source": "manual", "payload": {"seq": seq, "nonce": secrets.token_hex(8)}},
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        out.append(("POST", f"/api/routines/{routine_id}/run", body, headers))
    return out


def write_wrk_data(requests: Sequence[Request], path: Path) -> Path:
    with path.open("w") as out:
        for method, target, body, headers in requests:
            fields = [method, target, body.decode()]
            fields += [f"{name}: {value}" for name, value in headers.items()]
            assert not any("\t" in f or "\n" in f for f in fields)
            out.write("\t".join(fields) + "\n")
    return path


def raw_http(request: Request, port: int) -> bytes:
    method, target, body, headers = request
    lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# --- wrk -----------------------------------------------------------------------------------


@dataclass
class WrkSettings:
    threads: int = 1
    connections: int = 32
    timeout_s: float = 2.0


def run_wrk(
    port: int,
    data: Path,
    *,
    mode: str,
    duration: float,
    settings: WrkSettings,
    connections: int | None = None,
    timeout_s: float | None = None,
) -> dict[str, Any]:
    """Run wrk over the requests in `data` for `duration` seconds (or, in mode "once",
    until every request was answered, whichever comes first); its figures as a dict."""
    wrk = require_wrk()
    conns = connections or settings.connections
    threads = min(settings.threads, conns)
    marker = data.with_suffix(".done")
    for old in data.parent.glob(marker.name + ".*"):
        old.unlink()
    argv = [
        wrk, "-t", str(threads), "-c", str(conns), "-d", f"{max(1, math.ceil(duration))}s",
        "--timeout", f"{math.ceil(timeout_s or settings.timeout_s)}s", "--latency",
        "-s", str(LUA), f"http://{HOST}:{port}",
        "--", str(data), mode, str(threads), str(marker),
    ]  # fmt: skip
    out_path = data.with_suffix(".wrk.out")
    started = time.monotonic()
    deadline = started + duration + 60
    stopped_early = killed = False
    usage = None
    with out_path.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        while True:
            # wait4 rather than poll(): it also hands back wrk's own CPU time.
            pid, status, got = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                usage = got
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            all_answered = len(list(data.parent.glob(marker.name + ".*"))) >= threads
            if mode == "once" and not stopped_early and all_answered:
                stopped_early = True
                proc.send_signal(signal.SIGINT)
            if time.monotonic() > deadline and not killed:
                killed = True
                proc.kill()
            time.sleep(0.05)
    wall = time.monotonic() - started
    text_out = out_path.read_text(errors="replace")
    line = next((x for x in text_out.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{text_out[-3000:]}")
    result: dict[str, Any] = json.loads(line[len("WRK_JSON ") :])
    result["wall_s"] = round(wall, 2)
    result["threads"], result["connections"] = threads, conns
    result["stopped_when_all_answered"] = stopped_early
    result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2) if usage is not None else None
    return result


def summarize_wrk(result: dict[str, Any], *, ok_status: str) -> dict[str, Any]:
    seconds = result["duration_us"] / 1e6
    statuses = {k: int(v) for k, v in result["statuses"].items()}
    ok = statuses.get(ok_status, 0)
    other = {k: v for k, v in statuses.items() if k not in (ok_status, "200")}
    errors = result["errors"]
    lat = result["latency_us"]
    return {
        "generator": "wrk",
        "threads": result["threads"],
        "connections": result["connections"],
        "duration_s": round(seconds, 2),
        "accepted": ok,
        "accepted_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "latency_ms": {
            "p50": lat["p50"] / 1000,
            "p90": lat["p90"] / 1000,
            "p99": lat["p99"] / 1000,
            "p999": lat["p999"] / 1000,
            "max": lat["max"] / 1000,
            "mean": round(lat["mean"] / 1000, 3),
        },
        "errors": {
            "non_2xx": sum(other.values()),
            "non_2xx_by_status": other,
            "socket_connect": errors["connect"],
            "socket_read": errors["read"],
            "socket_write": errors["write"],
            "timeouts": errors["timeout"],
        },
        "error_count": sum(other.values())
        + errors["connect"]
        + errors["read"]
        + errors["write"]
        + errors["timeout"],
        "requests_list_exhausted": result["exhausted"],
        "load_generator_cpu_cores": round(result["cpu_s"] / seconds, 2)
        if result.get("cpu_s") is not None and seconds
        else None,
    }


# --- open-loop client ----------------------------------------------------------------------


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


# --- the runs table ------------------------------------------------------------------------


def backlog(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(text("SELECT count(*) FROM routine_runs WHERE status = 'received'"))
            or 0
        )


class BacklogSampler:
    """Counts `received` runs once a second in a thread, for the backlog's trend."""

    def __init__(self, engine: Engine, every: float = 1.0) -> None:
        self.engine = engine
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._t0 = 0.0

    def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.samples.append((time.monotonic() - self._t0, backlog(self.engine)))
            self._stop.wait(self.every)

    def __enter__(self) -> BacklogSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def summary(self, window: float) -> dict[str, Any]:
        inside = [(t, n) for t, n in self.samples if t <= window + 0.5]
        half = [(t, n) for t, n in inside if t >= window / 2]
        return {
            "samples_every_s": self.every,
            "max": max((n for _, n in inside), default=0),
            "at_end_of_load": inside[-1][1] if inside else None,
            "slope_second_half_runs_per_s": rounded(_slope(half), 2),
            "series": [[round(t, 1), n] for t, n in inside],
        }


def _slope(points: Sequence[tuple[float, int]]) -> float | None:
    if len(points) < 3:
        return None
    xs = [p[0] for p in points]
    ys = [float(p[1]) for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def wait_drained(
    engine: Engine, routine_ids: Sequence[str], since: datetime, timeout: float
) -> dict[str, Any]:
    """Wait (bounded) until no run of these routines recorded since `since` is still
    `received`; how long that took and what remains."""
    started = time.monotonic()
    remaining = _pending(engine, routine_ids, since)
    while remaining and time.monotonic() - started < timeout:
        time.sleep(0.25)
        remaining = _pending(engine, routine_ids, since)
    return {"drain_s": round(time.monotonic() - started, 2), "backlog_left": remaining}


def _pending(engine: Engine, routine_ids: Sequence[str], since: datetime) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM routine_runs WHERE status = 'received' "
                    "AND created_at >= :since AND routine_id = ANY(:ids)"
                ),
                {"since": since, "ids": [uuid.UUID(r) for r in routine_ids]},
            )
            or 0
        )


def run_stats(
    engine: Engine,
    routine_ids: Sequence[str],
    source: str,
    since: datetime,
    load_end: datetime,
) -> dict[str, Any]:
    """Recorded and decided runs of the phase, from the runs' own timestamps."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT status, created_at, decided_at FROM routine_runs "
                "WHERE created_at >= :since AND source = :source AND routine_id = ANY(:ids)"
            ),
            {"since": since, "source": source, "ids": [uuid.UUID(r) for r in routine_ids]},
        ).all()
    statuses = Counter(r.status for r in rows)
    decided = [r for r in rows if r.decided_at is not None]
    lags = [(r.decided_at - r.created_at).total_seconds() * 1000 for r in decided]
    window = (load_end - since).total_seconds()
    in_window = sum(1 for r in decided if r.decided_at <= load_end)
    created_in_window = sum(1 for r in rows if r.created_at <= load_end)
    first = min((r.created_at for r in rows), default=None)
    last_decided = max((r.decided_at for r in decided), default=None)
    overall = (last_decided - first).total_seconds() if first and last_decided else 0.0
    return {
        "recorded": len(rows),
        "recorded_per_s_in_window": round(created_in_window / window, 1) if window else None,
        "decided": len(decided),
        "decided_per_s_in_window": round(in_window / window, 1) if window else None,
        "decided_per_s_first_fire_to_last_decision": round(len(decided) / overall, 1)
        if overall
        else None,
        "statuses": dict(statuses),
        "fire_to_decision_ms": {
            "p50": rounded(pct(lags, 50)),
            "p90": rounded(pct(lags, 90)),
            "p99": rounded(pct(lags, 99)),
            "max": rounded(max(lags) if lags else None),
        },
    }


# --- PostgreSQL ceiling --------------------------------------------------------------------


def pg_insert_ceiling(
    database_url: str, *, count: int, max_seconds: float, temporary: bool = True
) -> dict[str, Any]:
    """Single-row INSERT + COMMIT from one psycopg2 connection; into a temp table (not
    WAL-logged, so COMMIT waits for no flush) or an ordinary one (COMMIT waits for the
    WAL flush, as the service's own commits do)."""
    import psycopg2

    dsn = database_url.replace("postgresql+psycopg2://", "postgresql://")
    connection = psycopg2.connect(dsn)
    table = "bench_ceiling" if temporary else f"bench_ceiling_{uuid.uuid4().hex[:8]}"
    try:
        cursor = connection.cursor()
        cursor.execute(
            f"CREATE {'TEMP ' if temporary else ''}TABLE {table} (id uuid PRIMARY KEY, "
            "payload text, created_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.commit()
        done = 0
        started = time.perf_counter()
        while done < count and time.perf_counter() - started < max_seconds:
            cursor.execute(
                f"INSERT INTO {table} (id, payload) VALUES (%s, %s)",
                (str(uuid.uuid4()), f"row {done}"),
            )
            connection.commit()
            done += 1
        elapsed = time.perf_counter() - started
        if not temporary:
            cursor.execute(f"DROP TABLE {table}")
            connection.commit()
    finally:
        connection.close()
    return {
        "rows": done,
        "seconds": round(elapsed, 2),
        "rows_per_s": round(done / elapsed, 1),
        "table": "temporary (no WAL flush at COMMIT)" if temporary else "ordinary (WAL flush)",
        "note": "one connection; one round trip per INSERT and one per COMMIT",
    }


# --- profiles ------------------------------------------------------------------------------


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def busiest_child(pid: int) -> int:
    """The child (gunicorn worker, dramatiq worker process) with the most CPU so far."""
    kids = children(pid)
    return max(kids, key=lambda k: cpu_seconds([k])) if kids else pid


def start_profilers(pid: int, base: Path, duration: float) -> list[subprocess.Popen[bytes]]:
    """py-spy on `pid`, three recordings at once (all at 100 Hz, without pausing it):
    base.svg, a flame graph of non-idle threads; base.collapsed.txt, the same as
    collapsed stacks (function level; speedscope and flamegraph.pl read it); and
    base.gil.collapsed.txt, only the thread holding the GIL, i.e. where Python spends CPU
    (waits in libpq or on sockets release the GIL and drop out)."""
    spy = BIN / "py-spy"
    if not spy.exists():
        found = shutil.which("py-spy")
        if found is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        spy = Path(found)
    common = ["record", "--pid", str(pid), "--duration", str(math.ceil(duration)),
              "--nonblocking", "--rate", "100"]  # fmt: skip
    runs = [
        [*common, "--format", "flamegraph", "-o", f"{base}.svg"],
        [*common, "--format", "raw", "--nolineno", "-o", f"{base}.collapsed.txt"],
        [*common, "--gil", "--format", "raw", "--nolineno", "-o", f"{base}.gil.collapsed.txt"],
    ]
    return [
        subprocess.Popen([str(spy), *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for argv in runs
    ]


#: First path parts that are this project's code.
APP_PACKAGES = ("shared", "web", "workers", "scheduler", "launcher", "bench")


def _frame_area(frame: str) -> str:
    """'function (package/module.py)' -> the package, for self-time attribution (py-spy
    prints paths relative to sys.path, so the first part is the top-level package)."""
    path = frame[frame.rfind("(") + 1 : -1] if frame.endswith(")") else ""
    parts = path.split("/")
    if not parts or not parts[0]:
        return "?"
    if parts[0] in APP_PACKAGES:
        return "app: " + "/".join(parts[:2]).removesuffix(".py")
    return parts[0].removesuffix(".py")


def top_functions(collapsed: Path, n: int = 25) -> dict[str, Any]:
    """Self and inclusive share of samples per function, and self share per package."""
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_counts[frames[-1]] += count
        areas[_frame_area(frames[-1])] += count
        for frame in set(frames):
            incl_counts[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"pct": round(100 * c / total, 1), "samples": c, "function": f}
            for f, c in counter.most_common(n)
        ]

    return {
        "samples": total,
        "self": share(self_counts),
        "inclusive": share(incl_counts),
        "self_by_package": share(areas),
    }
