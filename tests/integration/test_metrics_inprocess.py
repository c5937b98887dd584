"""Metrics in one process (the embedded mode's registry): they move with the work."""

from __future__ import annotations

from collections.abc import Callable

from devstack.api import Api, fire, make_world


def scrape(client_api: Api) -> dict[str, float]:
    response = client_api.transport.client.get("/metrics")  # type: ignore[attr-defined]
    assert response.status_code == 200
    samples: dict[str, float] = {}
    for line in response.get_data(as_text=True).splitlines():
        if line and not line.startswith("#"):
            key, _, number = line.rpartition(" ")
            samples[key] = float(number)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    return sum(
        number
        for key, number in samples.items()
        if key.partition("{")[0] == name and all(f'{k}="{v}"' in key for k, v in labels.items())
    )


def test_a_fire_moves_the_web_and_worker_counters(api: Api, drain: Callable[[], None]) -> None:
    world = make_world(api)
    before = scrape(api)
    fire(api, world.routine)
    queued = scrape(api)
    assert total(queued, "routines_queue_depth", queue="runs") == 1
    drain()
    after = scrape(api)
    assert total(after, "routines_fires_accepted_total", source="manual") == (
        total(before, "routines_fires_accepted_total", source="manual") + 1
    )
    decided = ("routines_runs_decided_total", {"outcome": "issue_created", "source": "manual"})
    assert total(after, decided[0], **decided[1]) == total(before, decided[0], **decided[1]) + 1
    latency = "routines_fire_to_decision_seconds_count"
    assert total(after, latency, source="manual") == total(before, latency, source="manual") + 1
    assert total(after, "routines_queue_depth", queue="runs") == 0


def test_signature_failures_are_counted_by_mode(api: Api) -> None:
    world = make_world(api)
    created = api.ok(
        "POST",
        f"/api/routines/{world.routine['id']}/triggers",
        {"kind": "webhook", "signingMode": "github_hmac"},
    )
    url = created["secretMaterial"]["webhookUrl"].split("3100", 1)[1]
    before = total(scrape(api), "routines_webhook_signature_failures_total", mode="github_hmac")
    assert api.as_(None).post(url, {}).status == 401
    after = total(scrape(api), "routines_webhook_signature_failures_total", mode="github_hmac")
    assert after == before + 1
