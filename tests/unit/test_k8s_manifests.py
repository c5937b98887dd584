"""The Kubernetes manifests: the same checks as `make k8s-check`, plus what they must say."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from k8s import check
from k8s.render import RenderError
from launcher import cli


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return check.render(check.K8S_DIR / "base")


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return check.render(check.K8S_DIR / "overlays" / "production")


def one(documents: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = check.find(documents, kind, name)
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return copy.deepcopy(found[0])


def container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: dict[str, Any] = containers[0]
    return result


def test_every_check_passes() -> None:
    problems, summary = check.check_all()
    assert problems == []
    assert any("k8s/overlays/production" in line for line in summary)


def test_web_runs_three_replicas_with_both_probes(base: list[dict[str, Any]]) -> None:
    web = one(base, "Deployment", "routines-web")
    assert web["spec"]["replicas"] == 3
    main = container(web)
    assert main["ports"] == [{"name": "http", "containerPort": 3100, "protocol": "TCP"}]
    assert main["readinessProbe"]["httpGet"] == {"path": "/api/health", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/api/health/live", "port": "http"}
    assert web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30
    assert main["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"


def test_worker_and_scheduler_probe_their_metrics_port(base: list[dict[str, Any]]) -> None:
    for name, port in (("routines-worker", 9191), ("routines-scheduler", 9300)):
        main = container(one(base, "Deployment", name))
        assert main["ports"][0]["containerPort"] == port
        assert main["ports"][0]["name"] == "metrics"
        assert main["readinessProbe"]["httpGet"] == {"path": "/health", "port": "metrics"}
        assert main["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "metrics"}


def test_scheduler_runs_two_replicas(base: list[dict[str, Any]]) -> None:
    assert one(base, "Deployment", "routines-scheduler")["spec"]["replicas"] == 2


def test_web_scales_on_cpu_and_worker_on_queue_depth(base: list[dict[str, Any]]) -> None:
    web = one(base, "HorizontalPodAutoscaler", "routines-web")
    assert web["apiVersion"] == "autoscaling/v2"
    assert web["spec"]["scaleTargetRef"]["name"] == "routines-web"
    assert web["spec"]["minReplicas"] == 3
    assert web["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    worker = one(base, "HorizontalPodAutoscaler", "routines-worker")
    assert worker["spec"]["scaleTargetRef"]["name"] == "routines-worker"
    external = [m["external"] for m in worker["spec"]["metrics"] if m["type"] == "External"]
    assert {m["metric"]["name"] for m in external} == {"routines_queue_depth"}
    assert {m["metric"]["selector"]["matchLabels"]["queue"] for m in external} == {
        "runs",
        "schedules",
    }


def test_public_webhooks_have_their_own_ingress_with_limits(base: list[dict[str, Any]]) -> None:
    public = one(base, "Ingress", "routines-public-webhooks")
    api = one(base, "Ingress", "routines-api")
    paths = [p["path"] for r in public["spec"]["rules"] for p in r["http"]["paths"]]
    assert paths == ["/api/routine-triggers/public/"]
    assert [p["path"] for r in api["spec"]["rules"] for p in r["http"]["paths"]] == ["/api"]
    annotations = public["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "1m"
    assert int(annotations["nginx.ingress.kubernetes.io/limit-rps"]) > 0
    assert int(annotations["nginx.ingress.kubernetes.io/limit-burst-multiplier"]) > 0
    for ingress in (public, api):
        assert ingress["spec"]["ingressClassName"] == "nginx"
        assert ingress["spec"]["tls"][0]["secretName"]


def test_every_workload_has_resources_and_a_security_context(
    base: list[dict[str, Any]],
) -> None:
    workloads = check.find(base, "Deployment") + check.find(base, "Job")
    assert len(workloads) == 4
    for workload in workloads:
        spec = workload["spec"]["template"]["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        for main in spec["containers"]:
            assert {"cpu", "memory"} <= set(main["resources"]["requests"])
            assert {"cpu", "memory"} <= set(main["resources"]["limits"])
            security = main["securityContext"]
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
    assert check.check_workloads(base, "base") == []


def test_disruption_budgets(base: list[dict[str, Any]]) -> None:
    assert one(base, "PodDisruptionBudget", "routines-web")["spec"]["minAvailable"] == 2
    assert one(base, "PodDisruptionBudget", "routines-worker")["spec"]["maxUnavailable"] == 1
    assert one(base, "PodDisruptionBudget", "routines-scheduler")["spec"]["minAvailable"] == 1


def test_secret_template_holds_only_placeholders(base: list[dict[str, Any]]) -> None:
    template = check.load_documents(check.SECRET_TEMPLATE)
    assert len(template) == 1
    assert "data" not in template[0]
    values = template[0]["stringData"]
    assert set(values) >= {"DATABASE_URL", "REDIS_URL", "ROUTINES_SECRET_KEY"}
    assert set(values.values()) == {"CHANGE-ME"}
    assert check.find(base, "Secret") == []
    leaked = copy.deepcopy(template)
    leaked[0]["stringData"]["DATABASE_URL"] = "postgresql://app:hunter2@db/routines"
    assert check.check_secrets(leaked, {}) != []


def test_migrations_job_runs_the_upgrade(base: list[dict[str, Any]]) -> None:
    job = one(base, "Job", "routines-migrate")
    assert container(job)["command"] == ["routines", "db", "upgrade"]
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


@pytest.mark.parametrize(
    ("kind", "name", "process"),
    [
        ("Deployment", "routines-web", "web"),
        ("Deployment", "routines-worker", "worker"),
        ("Deployment", "routines-scheduler", "scheduler"),
        ("Job", "routines-migrate", "db"),
    ],
)
def test_every_workload_runs_the_images_routines_command(
    base: list[dict[str, Any]], kind: str, name: str, process: str
) -> None:
    main = container(one(base, kind, name))
    assert main["image"] == "routines:0.1.0"
    program, *argv = main["command"]
    assert program == "routines"
    assert argv[0] == process
    cli._parser().parse_args(argv)  # exits (fails the test) on an option it does not know


def test_overlay_patches_image_and_replicas(
    base: list[dict[str, Any]], production: list[dict[str, Any]]
) -> None:
    assert {check.describe(d) for d in production} == {check.describe(d) for d in base}
    web = one(production, "Deployment", "routines-web")
    assert web["spec"]["replicas"] == 4
    assert web["metadata"]["namespace"] == "routines"
    assert container(web)["image"].endswith("/routines:0.1.0")
    assert (
        container(web)["readinessProbe"]
        == container(one(base, "Deployment", "routines-web"))["readinessProbe"]
    )
    assert one(production, "HorizontalPodAutoscaler", "routines-web")["spec"]["minReplicas"] == 4
    for document in production:
        assert document["metadata"]["labels"]["app.kubernetes.io/name"] == "routines"


def test_a_kustomization_kustomize_rejects_is_reported_with_its_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(RenderError, match=r"kubectl kustomize failed \(exit 1\): .*missing\.yaml"):
        check.render(tmp_path)


def test_a_missing_kubectl_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RenderError, match=r"kubectl is neither beside .* nor on PATH"):
        check.render(check.K8S_DIR / "base")


def test_a_broken_manifest_is_reported(base: list[dict[str, Any]]) -> None:
    web = one(base, "Deployment", "routines-web")
    assert check.validate_document(web, "test") == []
    web["spec"]["replicas"] = "three"
    problems = check.validate_document(web, "test")
    assert len(problems) == 1
    assert "spec.replicas" in problems[0]
    assert "'three' is not of type 'integer'" in problems[0]


def test_unknown_fields_and_custom_resources_are_reported(base: list[dict[str, Any]]) -> None:
    web = one(base, "Deployment", "routines-web")
    container(web)["readinessProbe"]["httpGet"]["pth"] = "/api/health"
    assert "'pth' was unexpected" in check.validate_document(web, "test")[0]
    monitor = one(base, "ServiceMonitor", "routines")
    assert check.validate_document(monitor, "test") == []
    monitor["spec"]["endpoints"][0]["interval"] = "thirty seconds"
    assert check.validate_document(monitor, "test") != []
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "Couldn't find schema" in check.validate_document(unknown, "test")[0]


def test_dangling_references_are_reported(base: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(base)
    one_service = check.find(broken, "Service", "routines-web")[0]
    one_service["spec"]["selector"]["app.kubernetes.io/component"] = "wbe"
    problems = check.check_references(broken, "test")
    assert any("Service/routines-web: selector matches no pod template" in p for p in problems)


def test_dashboard_queries_use_only_known_metrics(tmp_path: Path) -> None:
    problems, panels, queries = check.check_dashboard()
    assert problems == []
    assert panels > 10
    assert queries >= panels - 6
    model = json.loads(check.DASHBOARD.read_text())
    assert model["schemaVersion"] == 39
    exprs = " ".join(
        t["expr"] for p in model["panels"] for t in p.get("targets", []) if "expr" in t
    )
    for metric in check.METRICS:
        assert metric in exprs
    model["panels"][1]["targets"][0]["expr"] = "sum(rate(routines_fires_total[5m]))"
    broken = tmp_path / "dashboard.json"
    broken.write_text(json.dumps(model))
    problems, _, _ = check.check_dashboard(broken)
    assert any("unknown metric(s) routines_fires_total" in p for p in problems)


def test_dashboard_metrics_are_defined_by_the_code() -> None:
    assert check.check_metrics_defined() == []


def test_metric_names_ignore_quoted_text() -> None:
    expr = 'sum(rate(routines_http_requests_total{route="routines_not_a_metric"}[5m]))'
    assert check.metric_names(expr) == {"routines_http_requests_total"}


def test_both_ingresses_buffer_whole_requests_and_answers(base: list[dict[str, Any]]) -> None:
    """Slow clients are the ingress's to hold, never a web thread's (deploy/nginx.conf)."""
    for name in ("routines-api", "routines-public-webhooks"):
        annotations = one(base, "Ingress", name)["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/proxy-request-buffering"] == "on"
        assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "on"
        assert annotations["nginx.ingress.kubernetes.io/client-body-buffer-size"] == "1m"
