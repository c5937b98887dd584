"""Where the manifests are, and how the checks read a manifest.

Shared by k8s/render.py and every module of k8s/checks/, so that "the pod spec of a
workload" or "does this selector match these labels" has one meaning everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

Manifest = dict[str, Any]

K8S_DIR = Path(__file__).resolve().parent
REPO_DIR = K8S_DIR.parent
#: The kustomizations that are rendered and checked, relative to K8S_DIR.
KUSTOMIZATIONS = ("base", "overlays/production")
SECRET_TEMPLATE = K8S_DIR / "base" / "secret.template.yaml"
DASHBOARD = K8S_DIR / "grafana" / "routines-dashboard.json"

POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


def rel(path: Path) -> str:
    """A path as problems show it: relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


def describe(document: Manifest) -> str:
    """Kind/name, the way problems name an object."""
    metadata = document.get("metadata") or {}
    return f"{document.get('kind', '?')}/{metadata.get('name', '?')}"


def find(documents: Iterable[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The objects of a kind (and a name, if given)."""
    return [
        d
        for d in documents
        if d.get("kind") == kind and (name is None or d["metadata"].get("name") == name)
    ]


def pod_spec(document: Manifest) -> Manifest | None:
    """The pod spec of a workload's template, or None for anything that runs no pods."""
    if document.get("kind") in POD_TEMPLATE_KINDS:
        spec: Manifest = document.get("spec", {}).get("template", {}).get("spec", {})
        return spec
    return None


def own_labels(document: Manifest) -> dict[str, str]:
    """The labels of the object itself (not of the pods it runs)."""
    found: dict[str, str] = document.get("metadata", {}).get("labels") or {}
    return found


def template_labels(document: Manifest) -> dict[str, str]:
    """The labels of a workload's pods, which Services, PDBs and policies select."""
    found: dict[str, str] = document["spec"]["template"].get("metadata", {}).get("labels", {})
    return found


def selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (or a plain Service selector map) matches these labels."""
    match_labels: Manifest = selector
    expressions: list[Manifest] = []
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    for expression in expressions:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and labels.get(key) in values)
            or (operator == "Exists" and key not in labels)
            or (operator == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def selected_workloads(documents: list[Manifest], selector: Manifest) -> list[Manifest]:
    """The workloads whose pods a selector matches (none for an empty selector)."""
    return [
        d
        for d in documents
        if selector
        and d.get("kind") in POD_TEMPLATE_KINDS
        and selects(selector, template_labels(d))
    ]
