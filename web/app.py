"""Application factory: nothing connects until create_app is called."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.platform.runtime import Runtime, build_runtime
from shared.platform.settings import Settings
from web import telemetry
from web.errors import register_error_handlers
from web.public_fire import PublicFire
from web.routes import (
    activity,
    agents,
    companies,
    health,
    issues,
    metrics,
    ops,
    projects,
    routines,
    runs,
    schedules,
    triggers,
)

BLUEPRINTS = (
    companies.bp,
    agents.bp,
    projects.bp,
    issues.bp,
    routines.bp,
    runs.bp,
    triggers.bp,
    schedules.bp,
    activity.bp,
    metrics.bp,
    ops.bp,
    health.bp,
)


class RoutinesFlask(Flask):
    """Flask, with `OPTIONS` answered as RFC 9110 describes it: 204 and `Allow`. It needs
    no credentials (like a 405's `Allow`, it only tells what the public OpenAPI document
    says already), so CORS preflights and HTTP tooling can ask before authenticating."""

    def make_default_options_response(self) -> Response:
        response = super().make_default_options_response()
        response.status_code = 204
        return response


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    if runtime is None:
        runtime = build_runtime(settings or Settings.from_env())
    app = RoutinesFlask(__name__)
    # "//" must not be redirected with an HTML body: it is just an unknown route.
    app.url_map.merge_slashes = False
    app.extensions["routines"] = runtime
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.body_limit
    app.wsgi_app = PublicFire(app, app.wsgi_app)  # type: ignore[method-assign]
    if runtime.settings.proxy_hops:
        hops = runtime.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    telemetry.install(app)
    return app
