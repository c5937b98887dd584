"""Network policies: ingress is denied by default, so every container port needs a policy.

A port that no policy opens is unreachable in the cluster (probes still pass, as the
kubelet is not subject to policies), which shows up as a Service with no traffic.
"""

from __future__ import annotations

from k8s.manifests import Manifest, describe, find, pod_spec, selects, template_labels


def check_network_policies(documents: list[Manifest], where: str) -> list[str]:
    """With ingress denied by default, every container port must be opened by a policy."""
    problems: list[str] = []
    policies = find(documents, "NetworkPolicy")
    if not any(_denies_all_ingress(policy) for policy in policies):
        problems.append(f"{where}: no default-deny ingress NetworkPolicy")
    for workload in documents:
        spec = pod_spec(workload)
        if spec is None or workload["kind"] == "Job":
            continue
        opened = _opened_ports(policies, template_labels(workload))
        for container in spec.get("containers", []):
            for port in container.get("ports", []):
                if port["containerPort"] not in opened and port.get("name") not in opened:
                    problems.append(
                        f"{where}: {describe(workload)} port {port['containerPort']} is "
                        "opened by no NetworkPolicy"
                    )
    return problems


def _denies_all_ingress(policy: Manifest) -> bool:
    spec = policy["spec"]
    return (
        spec.get("podSelector") == {}
        and not spec.get("ingress")
        and "Ingress" in spec.get("policyTypes", [])
    )


def _opened_ports(policies: list[Manifest], pod_labels: dict[str, str]) -> set[int | str]:
    """Ports (numbers or names) that some policy selecting these pods lets in."""
    return {
        port.get("port")
        for policy in policies
        if selects(policy["spec"].get("podSelector") or {}, pod_labels)
        for rule in policy["spec"].get("ingress") or []
        for port in rule.get("ports") or []
    }
