"""`routines`: one command for every process type and the one-off chores."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from shared.platform.config_check import EXIT_MISCONFIGURED, exit_if_misconfigured
from shared.platform.logs import configure_logging
from shared.platform.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from shared.platform.secrets_box import SecretBox

#: Stored secrets re-sealed per transaction by `secrets re-encrypt`: short transactions,
#: and an interrupted run keeps the batches it committed.
RESEAL_BATCH = 500


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    exit_if_misconfigured(args.role)
    return int(args.handler(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="routines", description="Recurring and event-driven work for AI agents."
    )
    commands = parser.add_subparsers(title="commands")

    up = commands.add_parser("up", help="run API, worker and scheduler in one process")
    up.add_argument("--host", default=os.environ.get("ROUTINES_HOST", "127.0.0.1"))
    up.add_argument("--port", type=int, default=int(os.environ.get("ROUTINES_PORT", "3100")))
    up.set_defaults(handler=_up, role="up")

    web = commands.add_parser("web", help="run the API under gunicorn (distributed mode)")
    web.add_argument("--bind", default=os.environ.get("ROUTINES_BIND", "127.0.0.1:3100"))
    web.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    web.set_defaults(handler=_web, role="web")

    edge = commands.add_parser("edge", help="run nginx in front of web (deploy/nginx.conf)")
    port = os.environ.get("ROUTINES_PORT", "3100")
    edge.add_argument("--listen", default=f"127.0.0.1:{port}")
    web_port = os.environ.get("ROUTINES_WEB_PORT", "3101")
    edge.add_argument("--upstream", default=f"127.0.0.1:{web_port}")
    edge.add_argument("--config", type=Path, default=Path("deploy/nginx.conf"))
    data_dir = Path(os.environ.get("ROUTINES_DATA_DIR") or ".routines")
    edge.add_argument("--prefix", type=Path, default=data_dir / "edge")
    edge.set_defaults(handler=_edge, role="edge")

    worker = commands.add_parser("worker", help="run dramatiq workers (distributed mode)")
    worker.add_argument(
        "--processes", type=int, default=int(os.environ.get("WORKER_PROCESSES", "1"))
    )
    # Eight: the messages a process holds at once are decided together (DecisionGroup);
    # with four, p99 fire-to-decision at half the full webhook rate was 106 ms, with
    # eight 72 ms (README, "Web and worker threads").
    worker.add_argument("--threads", type=int, default=int(os.environ.get("WORKER_THREADS", "8")))
    worker.add_argument(
        "--shutdown-timeout-ms",
        type=int,
        default=None,
        help="how long in-flight messages may finish after SIGTERM (dramatiq's default: 600000)",
    )
    worker.set_defaults(handler=_worker, role="worker")

    scheduler = commands.add_parser("scheduler", help="run the scheduler loop")
    scheduler.set_defaults(handler=_scheduler, role="scheduler")

    db = commands.add_parser("db", help="database chores")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="apply migrations up to head")
    upgrade.add_argument(
        "--hold",
        action="store_true",
        help="stay running afterwards (honcho stops every process when one exits)",
    )
    upgrade.set_defaults(handler=_db_upgrade, role="db")

    token = commands.add_parser("admin-token", help="print the embedded mode's admin token")
    token.set_defaults(handler=_admin_token, role="admin-token")

    demo = commands.add_parser(
        "demo", help="create a demo routine with each trigger kind and print curl lines"
    )
    demo.add_argument(
        "--url", default=os.environ.get("ROUTINES_PUBLIC_URL", "http://127.0.0.1:3100")
    )
    demo.add_argument("--token", default=None, help="admin token (default: the configured one)")
    demo.set_defaults(handler=_demo, role="demo")

    secrets = commands.add_parser("secrets", help="stored secrets chores")
    secrets_commands = secrets.add_subparsers(title="secrets commands")
    reencrypt = secrets_commands.add_parser(
        "re-encrypt",
        help="re-seal every stored secret with the first key of ROUTINES_SECRET_KEY",
    )
    reencrypt.set_defaults(handler=_secrets_reencrypt, role="secrets")
    return parser


def _up(args: argparse.Namespace) -> int:
    from launcher.embedded import EmbeddedService, banner

    configure_logging("embedded")
    service = EmbeddedService(Settings.from_env(), host=args.host, port=args.port)
    print(banner(service), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        service.serve_forever()
    return 0


def _web(args: argparse.Namespace) -> int:
    gunicorn = installed_beside_python("gunicorn")
    command = [gunicorn, "--bind", args.bind, "--workers", str(args.workers)]
    config = ["--config", "python:web.gunicorn_conf", "web.wsgi:app"]
    os.execvp(gunicorn, [*command, *config])  # noqa: S606 (replaces this process)


def _edge(args: argparse.Namespace) -> int:
    from launcher import edge

    try:
        config = edge.render(args.config.read_text(), listen=args.listen, upstream=args.upstream)
        argv = edge.nginx_argv(edge.prepare(args.prefix, config), args.prefix)
    except (edge.EdgeError, OSError) as error:
        print(f"routines edge: {error}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_MISCONFIGURED) from None
    os.execvp(argv[0], argv)  # noqa: S606 (replaces this process)


def installed_beside_python(program: str) -> str:
    """The program of this Python's environment (a virtualenv's bin/ need not be on PATH:
    `.venv/bin/routines web` works unactivated), else whichever PATH finds."""
    beside = Path(sys.executable).parent / program
    return str(beside) if beside.exists() else program


#: dramatiq's idle poll of Redis backs off up to this many ms (its own default is 1,000):
#: a worker that found its queue empty a few times in a row would otherwise sleep up to
#: a second before seeing the next run. Read by dramatiq at import, so set before that.
IDLE_POLL_MS = "50"


def _worker(args: argparse.Namespace) -> int:
    os.environ.setdefault("dramatiq_worker_timeout", IDLE_POLL_MS)
    command = ["dramatiq", "--processes", str(args.processes), "--threads", str(args.threads)]
    if args.shutdown_timeout_ms is not None:
        command += ["--worker-shutdown-timeout", str(args.shutdown_timeout_ms)]
    return dramatiq_main([*command, "workers.main:setup"])


def dramatiq_main(argv: list[str]) -> int:
    """dramatiq's own command line, run in this process after the logging is set up:
    its `basicConfig` then finds a handler and adds none, so its start-up lines, and
    those of the worker processes it forks, come out in the service's format."""
    configure_logging("worker")
    from dramatiq.cli import main, make_argument_parser

    sys.argv = argv
    parsed = make_argument_parser().parse_args(argv[1:])  # type: ignore[no-untyped-call]
    return int(main(parsed) or 0)  # type: ignore[no-untyped-call]


def _scheduler(_args: argparse.Namespace) -> int:
    from scheduler.__main__ import main as scheduler_main

    scheduler_main()
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from shared.platform.migrate import upgrade_to_head

    upgrade_to_head(Settings.from_env())
    print("database is at head", flush=True)
    if args.hold:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            signal.pause()
    return 0


def _secrets_reencrypt(_args: argparse.Namespace) -> int:
    """Step two of a key rotation: once every secret is sealed with the first key,
    the old key can leave ROUTINES_SECRET_KEY."""
    from shared.platform.db import make_engine, make_sessions
    from shared.platform.secrets_box import SecretBox

    settings = Settings.from_env()
    engine = make_engine(settings)
    try:
        resealed, unopenable = _reseal_all(make_sessions(engine), SecretBox(*settings.secret_keys))
    finally:
        engine.dispose()
    print(f"re-encrypted with the first key: {resealed}; opened by no key: {unopenable}")
    if unopenable:
        print(
            f"routines secrets: {unopenable} stored secret(s) could not be opened by any key in "
            "ROUTINES_SECRET_KEY and were left untouched (list the key that sealed them, then "
            "run this again)",
            file=sys.stderr,
        )
        return 1
    return 0


def _reseal_all(sessions: sessionmaker[Session], box: SecretBox) -> tuple[int, int]:
    """One transaction per batch, keyset-paged by id."""
    from shared.platform.secret_rotation import reseal_page

    resealed = unopenable = 0
    after = None
    while True:
        with sessions.begin() as session:
            page = reseal_page(session, box=box, after=after, limit=RESEAL_BATCH)
        resealed, unopenable = resealed + page.resealed, unopenable + page.unopenable
        if page.last_id is None:
            return resealed, unopenable
        after = page.last_id


def _admin_token(_args: argparse.Namespace) -> int:
    print(_configured_admin_token())
    return 0


def _configured_admin_token() -> str:
    from launcher.embedded import embedded_settings

    settings = Settings.from_env()
    return settings.admin_token or embedded_settings(settings).admin_token or ""


def _demo(args: argparse.Namespace) -> int:
    from launcher.demo import DemoError, run_demo

    try:
        print(run_demo(args.url.rstrip("/"), args.token or _configured_admin_token()))
    except DemoError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
