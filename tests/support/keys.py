"""Webhook triggers sealed and fired under a chosen ROUTINES_SECRET_KEY, for key rotation."""

from __future__ import annotations

from dataclasses import dataclass, replace

from devstack.api import Api, FlaskTransport, Response, make_world
from shared.platform.runtime import Runtime
from web.app import create_app


@dataclass(frozen=True)
class Hook:
    path: str
    secret: str


def api_with_keys(runtime: Runtime, keys: str) -> Api:
    """The same database and broker, with `keys` as ROUTINES_SECRET_KEY."""
    settings = runtime.settings.with_overrides(secret_key=keys)
    app = create_app(runtime=replace(runtime, settings=settings))
    return Api(FlaskTransport(app.test_client()))


def make_hook(api: Api) -> Hook:
    """A bearer webhook trigger on a new routine; its secret sealed with `api`'s first key."""
    routine = make_world(api).routine
    created = api.ok("POST", f"/api/routines/{routine['id']}/triggers", {"kind": "webhook"})
    material = created["secretMaterial"]
    path = material["webhookUrl"].split("127.0.0.1:3100", 1)[1]
    return Hook(path, material["webhookSecret"])


def fire_hook(api: Api, hook: Hook) -> Response:
    headers = {"Authorization": f"Bearer {hook.secret}", "Content_Type": "application/json"}
    return api.as_(None).call("POST", hook.path, b"{}", **headers)
