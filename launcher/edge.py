"""The edge (`routines edge`): nginx in front of gunicorn, with the repository's
deploy/nginx.conf filled in, run unprivileged in the foreground under a prefix folder of
its own (its pid file and temp folders live there)."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The template's two placeholders, `${NAME}` as the nginx image's envsubst reads them.
LISTEN = "ROUTINES_EDGE_LISTEN"
UPSTREAM = "ROUTINES_EDGE_UPSTREAM"
#: The temp folders deploy/nginx.conf names, relative to the prefix.
TEMP_FOLDERS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class EdgeError(Exception):
    """The edge cannot start: a one-line reason for the operator."""


def render(template: str, *, listen: str, upstream: str) -> str:
    """The template with its two placeholders filled in; nginx's own `$variables` stay."""
    for name in (LISTEN, UPSTREAM):
        if "${" + name + "}" not in template:
            raise EdgeError(f"the nginx template has no ${{{name}}}")
    return template.replace("${" + LISTEN + "}", listen).replace("${" + UPSTREAM + "}", upstream)


def prepare(prefix: Path, config: str) -> Path:
    """Write `config` as <prefix>/nginx.conf beside the temp folders it names; its path."""
    for folder in TEMP_FOLDERS:
        (prefix / "temp" / folder).mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(config)
    return path.resolve()


def nginx_argv(config: Path, prefix: Path) -> list[str]:
    """nginx in the foreground, its start-up errors on stderr rather than in /var/log."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if nginx is None:
        raise EdgeError("nginx is not installed (Debian: apt-get install nginx)")
    return [
        nginx,
        "-e",
        "stderr",
        "-c",
        str(config),
        "-p",
        f"{prefix.resolve()}/",
        "-g",
        "daemon off;",
    ]
