"""HTTP in, Redis broker, a separate dramatiq worker, rows out: the distributed mode."""

from __future__ import annotations

from devstack.api import Api, HttpTransport, fire, make_world
from devstack.processes import free_port, running, start_web, start_worker, wait_for
from tests.e2e.conftest import Stack


def run_status(api: Api, run_id: str) -> str:
    return str(api.ok("GET", f"/api/routine-runs/{run_id}")["status"])


def test_a_fire_becomes_an_issue_and_completes_when_the_issue_is_done(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir)
    with running(web, worker):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"))
        world = make_world(api)
        run = fire(api, world.routine)
        assert run["status"] == "received"
        wait_for(lambda: run_status(api, run["id"]) != "received", timeout=30, what="decision")
        decided = api.ok("GET", f"/api/routine-runs/{run['id']}")
        assert decided["status"] == "issue_created"
        issue = api.ok("GET", f"/api/issues/{decided['linkedIssueId']}")
        assert issue["originRunId"] == run["id"]
        assert issue["assigneeAgentId"] == world.agent["id"]
        api.ok("PATCH", f"/api/issues/{issue['id']}", {"status": "done"})
        assert run_status(api, run["id"]) == "completed"


def test_three_manual_runs_coalesce_into_one_issue_across_processes(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    worker = start_worker(stack.env, stack.log_dir, threads=4)
    with running(web, worker):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"))
        world = make_world(api, concurrencyPolicy="coalesce_if_active")
        run_ids = [fire(api, world.routine)["id"] for _ in range(3)]
        wait_for(
            lambda: all(run_status(api, r) != "received" for r in run_ids),
            timeout=30,
            what="three decisions",
        )
        statuses = sorted(run_status(api, r) for r in run_ids)
        assert statuses == ["coalesced", "coalesced", "issue_created"]
        company = world.company["id"]
        issues = api.ok("GET", f"/api/companies/{company}/issues?originId={world.routine['id']}")
        assert len(issues) == 1


def test_health_reports_database_broker_and_migrations(stack: Stack) -> None:
    port = free_port()
    web = start_web(stack.env, stack.log_dir, port=port)
    with running(web):
        api = Api(HttpTransport(f"http://127.0.0.1:{port}"), token=None)
        health = api.get("/api/health")
        assert health.status == 200
        assert health.body["mode"] == "distributed"
        assert {name for name, c in health.body["checks"].items() if c["ok"]} == {
            "database",
            "broker",
            "migrations",
        }
