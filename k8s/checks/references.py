"""References between objects, which no schema can see: each document is valid alone.

A Service whose selector matches no pod, an Ingress backend on a port no Service has, or
an envFrom naming a missing ConfigMap all apply cleanly and fail only at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from k8s.manifests import (
    Manifest,
    describe,
    find,
    own_labels,
    pod_spec,
    selected_workloads,
    selects,
)


def check_references(
    documents: list[Manifest], where: str, extra: Iterable[Manifest] = ()
) -> list[str]:
    """Every name or selector that points at another object points at one that exists."""
    problems: list[str] = []
    known = [*documents, *extra]
    for document in documents:
        label = f"{where}: {describe(document)}"
        problems.extend(f"{label}: {problem}" for problem in _dangling(document, documents))
        problems.extend(f"{label}: {problem}" for problem in _env_from_problems(document, known))
    return problems


def _dangling(document: Manifest, documents: list[Manifest]) -> Iterator[str]:
    kind, spec = document.get("kind"), document.get("spec") or {}
    if kind == "Service" and spec.get("selector"):
        workloads = selected_workloads(documents, spec["selector"])
        if not workloads:
            yield "selector matches no pod template"
        for port in spec.get("ports", []):
            target = port.get("targetPort")
            if isinstance(target, str) and target not in _port_names(workloads):
                yield f"targetPort {target} is not a container port"
    elif kind == "Ingress":
        yield from _ingress_problems(spec, documents)
    elif kind == "HorizontalPodAutoscaler":
        target = spec["scaleTargetRef"]
        if not find(documents, target["kind"], target["name"]):
            yield f"scaleTargetRef {target['name']} does not exist"
    elif kind == "PodDisruptionBudget":
        if not selected_workloads(documents, spec.get("selector") or {}):
            yield "selector matches no pod template"
    elif kind == "ServiceMonitor":
        yield from _service_monitor_problems(spec, documents)


def _ingress_problems(spec: Manifest, documents: list[Manifest]) -> Iterator[str]:
    for rule in spec.get("rules", []):
        for path in (rule.get("http") or {}).get("paths", []):
            backend = path["backend"]["service"]
            services = find(documents, "Service", backend["name"])
            port = backend["port"].get("name") or backend["port"].get("number")
            ports = {
                p.get(field) for s in services for p in s["spec"]["ports"]
                for field in ("name", "port")
            }  # fmt: skip
            if not services or port not in ports:
                yield f"backend {backend['name']}:{port} is not a Service port"


def _service_monitor_problems(spec: Manifest, documents: list[Manifest]) -> Iterator[str]:
    services = [s for s in find(documents, "Service") if selects(spec["selector"], own_labels(s))]
    if not services:
        yield "selector matches no Service"
    names = {p.get("name") for s in services for p in s["spec"]["ports"]}
    for endpoint in spec.get("endpoints", []):
        if "port" in endpoint and endpoint["port"] not in names:
            yield f"endpoint port {endpoint['port']} on no Service"


def _env_from_problems(document: Manifest, known: list[Manifest]) -> Iterator[str]:
    for container in (pod_spec(document) or {}).get("containers", []):
        for source in container.get("envFrom", []):
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = source.get(field)
                if ref and not find(known, kind, ref["name"]):
                    yield f"envFrom {kind} {ref['name']} does not exist"


def _port_names(workloads: Iterable[Manifest]) -> set[str]:
    return {
        port["name"]
        for workload in workloads
        for container in (pod_spec(workload) or {}).get("containers", [])
        for port in container.get("ports", [])
        if "name" in port
    }
