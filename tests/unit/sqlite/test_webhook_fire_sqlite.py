"""The public webhook fire on SQLite (the embedded mode): the look-up every fire makes
there, through the path answered in front of Flask."""

from __future__ import annotations

from devstack.api import Api, make_world
from shared.platform.runtime import Runtime


def test_webhook_fires_are_recorded_and_a_wrong_secret_is_refused(
    api: Api, runtime: Runtime
) -> None:
    assert runtime.hooks is None  # no copy of a trigger: every fire looks it up
    routine = make_world(api).routine
    created = api.ok("POST", f"/api/routines/{routine['id']}/triggers", {"kind": "webhook"})
    path = created["secretMaterial"]["webhookUrl"].split("127.0.0.1:3100", 1)[1]
    secret = created["secretMaterial"]["webhookSecret"]
    public = api.as_(None)
    for n in range(2):
        fired = public.call(
            "POST", path, f'{{"n": {n}}}'.encode(), Authorization=f"Bearer {secret}"
        )
        assert fired.status == 202, fired.body
        assert fired.body["source"] == "webhook"
        assert fired.body["triggerPayload"] == {"n": n}
    refused = public.call("POST", path, b"{}", Authorization="Bearer wrong")
    assert refused.status == 401
    assert refused.body == {"error": "Unauthorized"}
