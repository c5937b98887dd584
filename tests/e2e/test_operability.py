"""What operators scrape and probe, from the real processes."""

from __future__ import annotations

import json
import urllib.request

from devstack.api import Api, HttpTransport, fire, make_world
from devstack.processes import (
    answers,
    free_port,
    metrics_url,
    running,
    scrape,
    start_scheduler,
    start_web,
    start_worker,
    wait_for,
)
from tests.e2e.conftest import Stack


def value(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for key, number in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            total += number
    return total


def test_metrics_move_when_a_fire_happens(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir)
    scheduler = start_scheduler(stack.env, stack.log_dir)
    with running(web, worker, scheduler):
        base = f"http://127.0.0.1:{port}"
        api = Api(HttpTransport(base))
        world = make_world(api)
        before = scrape(f"{base}/metrics")
        run = fire(api, world.routine)
        wait_for(
            lambda: api.ok("GET", f"/api/routine-runs/{run['id']}")["status"] != "received",
            timeout=30,
            what="decision",
        )
        after = scrape(f"{base}/metrics")
        fires = "routines_fires_accepted_total"
        assert value(after, fires, source="manual") == value(before, fires, source="manual") + 1
        route = "/api/routines/<routine_id>/run"
        assert value(after, "routines_http_requests_total", route=route, status="202") >= 1
        assert 'routines_queue_depth{queue="runs"}' in after

        def worker_counted() -> bool:
            if not answers(f"{metrics_url(worker)}/health/live"):
                return False
            samples = scrape(f"{metrics_url(worker)}/metrics")
            decided = value(samples, "routines_runs_decided_total", outcome="issue_created")
            return decided >= 1 and value(samples, "dramatiq_messages_total") >= 1

        wait_for(worker_counted, timeout=20, what="worker metrics")
        wait_for(lambda: answers(f"{metrics_url(scheduler)}/metrics"), timeout=20, what="scheduler")
        samples = scrape(f"{metrics_url(scheduler)}/metrics")
        assert value(samples, "routines_scheduler_leader") == 1


def test_worker_and_scheduler_answer_health_probes(stack: Stack) -> None:
    worker = start_worker(stack.env, stack.log_dir)
    scheduler = start_scheduler(stack.env, stack.log_dir)
    with running(worker, scheduler):
        for process in (worker, scheduler):
            url = metrics_url(process)
            wait_for(lambda url=url: answers(f"{url}/health/live"), timeout=30, what="probe")
            with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
                body = json.loads(response.read())
            assert response.status == 200
            assert set(body["checks"]) == {"database", "broker", "migrations"}
