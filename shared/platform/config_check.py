"""What each process needs before it starts. A distributed process started without
Redis would otherwise fall back to the embedded mode's in-process pieces and leave
every run `received`; without the secret key, web would answer 503 on every webhook
trigger. Checked once at start, so a misconfigured process exits at once with one line.

The rules are a pure function of the environment (`problems`); the entry points call
`exit_if_misconfigured` before they read anything else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping

from shared.platform.settings import SettingError, Settings

#: Exit status of a process refused for its configuration (as for a bad command line).
EXIT_MISCONFIGURED = 2

EMBEDDED_HINT = "(use 'routines up' for the embedded mode)"
CONTRADICTION = (
    "REDIS_URL is set but DATABASE_URL is SQLite; separate processes cannot share the "
    "embedded mode's in-process pieces (point DATABASE_URL at PostgreSQL, "
    "or unset REDIS_URL and use 'routines up')"
)

Check = Callable[[Mapping[str, str], Settings], str | None]


def _redis(env: Mapping[str, str], _settings: Settings) -> str | None:
    if env.get("REDIS_URL"):
        return None
    return f"REDIS_URL is not set; the distributed processes need Redis {EMBEDDED_HINT}"


def _postgres(env: Mapping[str, str], settings: Settings) -> str | None:
    if not env.get("DATABASE_URL"):
        return f"DATABASE_URL is not set; the distributed processes need PostgreSQL {EMBEDDED_HINT}"
    scheme = settings.database_url.split(":", 1)[0]
    if scheme.startswith("sqlite") and env.get("REDIS_URL"):
        return CONTRADICTION
    if not scheme.startswith("postgresql"):
        return f"DATABASE_URL must point at PostgreSQL, not {scheme}"
    return None


def _database(env: Mapping[str, str], _settings: Settings) -> str | None:
    if env.get("DATABASE_URL"):
        return None
    return "DATABASE_URL is not set; it names the database whose secrets are re-encrypted"


def _admin_token(_env: Mapping[str, str], settings: Settings) -> str | None:
    if settings.admin_token:
        return None
    return "ROUTINES_ADMIN_TOKEN is not set; the API needs the instance admin token"


def _secret_key(env: Mapping[str, str], settings: Settings) -> str | None:
    if settings.secret_keys:
        return None
    if env.get("ROUTINES_SECRET_KEY"):
        return "ROUTINES_SECRET_KEY holds no key (only commas and blanks)"
    return (
        "ROUTINES_SECRET_KEY is not set; it encrypts stored webhook secrets "
        "(a comma-separated list of keys: the first encrypts, all decrypt)"
    )


#: Checks per process, most fundamental first; a role not listed (`up`, `db`, ...)
#: needs only settings that can be read.
NEEDS: dict[str, tuple[Check, ...]] = {
    "web": (_redis, _postgres, _admin_token, _secret_key),
    "worker": (_redis, _postgres),
    "scheduler": (_redis, _postgres),
    "secrets": (_database, _secret_key),
}


def problems(role: str, env: Mapping[str, str]) -> list[str]:
    """Everything that stops `role` from starting with `env`; empty when it may start."""
    try:
        settings = Settings.from_env(dict(env))
    except SettingError as error:
        return [str(error)]
    found = (check(env, settings) for check in NEEDS.get(role, ()))
    return [problem for problem in found if problem]


def exit_if_misconfigured(role: str, env: Mapping[str, str] | None = None) -> None:
    """Print the first problem as one line and exit. Written to the original stderr,
    because dramatiq's worker processes replace `sys.stderr` with a pipe that their
    parent may stop reading before the line arrives."""
    found = problems(role, os.environ if env is None else env)
    if found:
        stream = sys.__stderr__ or sys.stderr
        print(f"routines {role}: {found[0]}", file=stream, flush=True)
        raise SystemExit(EXIT_MISCONFIGURED)
