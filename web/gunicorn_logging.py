"""gunicorn's own log lines in the service's format.

A logger class rather than `logconfig_dict`: gunicorn takes any logging configuration as
a request for an access log, and formatting a line per request cost the no-op endpoint
about a fifth of its throughput, for lines the app already writes itself."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from shared.platform.logs import formatter_for


class ServiceFormatLogger(Logger):  # type: ignore[misc]
    """Start-up, worker boots and exits, errors: one JSON line each (a console line on a
    terminal). No access log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(formatter_for("web", getattr(handler, "stream", None)))
