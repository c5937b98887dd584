"""Secrets: the template in k8s/base holds only placeholders, and no kustomization ships one.

The real values are created in the cluster by hand (docs/operations.md); a value
committed here would be a leaked credential, and a Secret in a kustomization would
overwrite the real one on every `kubectl apply -k`.
"""

from __future__ import annotations

from k8s.manifests import SECRET_TEMPLATE, Manifest, describe, find, rel

PLACEHOLDER = "CHANGE-ME"


def check_secrets(template: list[Manifest], rendered: dict[str, list[Manifest]]) -> list[str]:
    """The template holds only placeholders; no kustomization ships a Secret."""
    problems: list[str] = []
    where = rel(SECRET_TEMPLATE)
    for document in template:
        if document.get("kind") != "Secret":
            problems.append(f"{where}: {describe(document)} is not a Secret")
            continue
        if document.get("data"):
            problems.append(f"{where}: use stringData with placeholders, not data")
        for key, value in (document.get("stringData") or {}).items():
            if value != PLACEHOLDER:
                problems.append(f"{where}: {key} is not the placeholder {PLACEHOLDER}")
    for name, documents in rendered.items():
        problems.extend(
            f"k8s/{name}: {describe(d)}: Secrets never go into a kustomization"
            for d in find(documents, "Secret")
        )
    return problems
