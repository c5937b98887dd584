"""YAML files under k8s/base and k8s/overlays that no kustomization uses.

Such a file looks deployed to a reader but is never applied (or is applied only by
someone running `kubectl apply -f` on it by hand): either list it or delete it.
"""

from __future__ import annotations

from pathlib import Path

from k8s.manifests import K8S_DIR, KUSTOMIZATIONS, SECRET_TEMPLATE, rel
from k8s.render import RenderError, load_kustomization


def check_unreferenced_files() -> list[str]:
    """Every YAML file under base/ and overlays/ is used by a kustomization (or a template)."""
    referenced = {SECRET_TEMPLATE.resolve()}
    for name in KUSTOMIZATIONS:
        referenced |= _files_used_by(K8S_DIR / name)
    return [
        f"{rel(path)}: not listed in any kustomization (resources or patches)"
        for folder in ("base", "overlays")
        for path in sorted((K8S_DIR / folder).rglob("*.y*ml"))
        if path.resolve() not in referenced
    ]


def _files_used_by(directory: Path) -> set[Path]:
    """The kustomization file, its resources and its patches (none if it cannot be read:
    rendering has reported that already)."""
    used = {(directory / "kustomization.yaml").resolve()}
    try:
        kustomization = load_kustomization(directory)
    except RenderError:
        return used
    for entry in kustomization.get("resources") or []:
        used.add((directory / entry).resolve())
    for patch in kustomization.get("patches") or []:
        used.add((directory / patch.get("path", "")).resolve())
    return used
