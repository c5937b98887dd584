"""The gunicorn entry point: `gunicorn web.wsgi:app`."""

from shared.platform.logs import configure_logging
from web.app import create_app

configure_logging("web")
app = create_app()
