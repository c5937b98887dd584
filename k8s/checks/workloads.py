"""Resources, security context and probes of every container of every workload.

A schema accepts a container with no limits, running as root or with no probes; the
cluster would run it too. These are the rules every workload of the service follows.
"""

from __future__ import annotations

from k8s.manifests import Manifest, describe, pod_spec

_PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
#: A Deployment serves or consumes continuously: Kubernetes must know when a pod is ready
#: and when it is stuck. A Job (migrations) runs to completion and needs neither.
_DEPLOYMENT_PROBES = ("readinessProbe", "livenessProbe")


def check_workloads(documents: list[Manifest], where: str) -> list[str]:
    """Resources, security context and probes of every container."""
    problems: list[str] = []
    for workload in documents:
        spec = pod_spec(workload)
        if spec is None:
            continue
        label = f"{where}: {describe(workload)}"
        for container in spec.get("containers", []):
            at = f"{label} container {container.get('name')}"
            problems.extend(f"{at}: {problem}" for problem in _container_problems(container, spec))
            if workload["kind"] == "Deployment":
                problems.extend(
                    f"{at}: no {probe}" for probe in _DEPLOYMENT_PROBES if not container.get(probe)
                )
    return problems


def _container_problems(container: Manifest, pod: Manifest) -> list[str]:
    problems: list[str] = []
    resources = container.get("resources") or {}
    for bound in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(resources.get(bound) or {})
        if missing:
            problems.append(f"resources.{bound} lacks {', '.join(sorted(missing))}")
    security = container.get("securityContext") or {}
    pod_security = pod.get("securityContext") or {}
    if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not set")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("readOnlyRootFilesystem is not true")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation is not false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities.drop does not contain ALL")
    ports = {p.get("name") for p in container.get("ports", [])}
    for probe_name in _PROBES:
        port = ((container.get(probe_name) or {}).get("httpGet") or {}).get("port")
        if isinstance(port, str) and port not in ports:
            problems.append(f"{probe_name} uses port {port}, not a named port")
    return problems
