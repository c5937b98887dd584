"""Environment variable names: every one the manifests set is one the code reads.

A misspelt variable in a ConfigMap is valid YAML and a valid object; the service would
silently run on its default. The names the code can read are taken from its source, so
the list is never kept by hand.
"""

from __future__ import annotations

import re

from k8s.manifests import REPO_DIR, Manifest, describe, pod_spec

#: Environment variables read by third-party code rather than by the service itself.
#: dramatiq_worker_timeout: read by dramatiq itself (see launcher/cli.py IDLE_POLL_MS).
_THIRD_PARTY_ENV = frozenset({"WEB_CONCURRENCY", "dramatiq_worker_timeout"})
#: The service's own packages, whose string literals name the variables it reads.
SERVICE_PACKAGES = ("shared", "web", "workers", "scheduler", "launcher")


def known_environment_variables() -> set[str]:
    """Upper-case string literals of the service's code: the variables it can read."""
    names = set(_THIRD_PARTY_ENV)
    for package in SERVICE_PACKAGES:
        for source in (REPO_DIR / package).rglob("*.py"):
            names.update(re.findall(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']", source.read_text("utf-8")))
    return names


def check_environment(documents: list[Manifest], where: str, known: set[str]) -> list[str]:
    """Every variable set by a ConfigMap, a Secret or a container is one the code reads."""
    problems: list[str] = []
    for document in documents:
        problems.extend(
            f"{where}: {describe(document)} sets {name}, which the service never reads"
            for name in _variables_set_by(document)
            if name not in known
        )
    return problems


def _variables_set_by(document: Manifest) -> list[str]:
    if document.get("kind") == "ConfigMap":
        return list(document.get("data") or {})
    if document.get("kind") == "Secret":
        return [*(document.get("stringData") or {}), *(document.get("data") or {})]
    spec = pod_spec(document)
    if spec is not None:
        return [e["name"] for c in spec.get("containers", []) for e in c.get("env", [])]
    return []
