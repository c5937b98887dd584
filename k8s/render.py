"""What `kustomize build` gives for k8s/base and k8s/overlays/production, in pure Python.

The check runs offline and without a kustomize binary, so the renderer supports exactly
the kustomization fields this project uses: `resources`, `namespace`, `labels`, `images`
and strategic-merge `patches` given by `path`. Any other field is reported as an error
rather than rendered wrongly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from k8s.manifests import POD_TEMPLATE_KINDS, Manifest, containers, rel

_KUSTOMIZATION_FIELDS = frozenset(
    {"apiVersion", "kind", "namespace", "resources", "labels", "images", "patches"}
)
_CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
    }
)
_LABELS_FIELDS = frozenset({"pairs", "includeTemplates", "includeSelectors"})
#: Strategic-merge keys of the lists that the renderer merges item by item; other lists
#: in a patch replace the original, as for any list without a merge key.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "envFrom": None,
    "volumes": "name",
    "volumeMounts": "mountPath",
    "imagePullSecrets": "name",
}


class RenderError(Exception):
    """A file or kustomization that cannot be read or rendered: one problem, reported."""


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of a file."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise RenderError(f"{rel(path)}: cannot be read as YAML: {error}") from error
    for document in documents:
        if document is not None and not isinstance(document, dict):
            raise RenderError(f"{rel(path)}: a document is not a mapping")
    return [document for document in documents if document]


def load_kustomization(directory: Path) -> Manifest:
    """The one document of DIRECTORY/kustomization.yaml."""
    path = directory / "kustomization.yaml"
    documents = load_documents(path)
    if len(documents) != 1:
        raise RenderError(f"{rel(path)}: expected exactly one document")
    return documents[0]


def render(directory: Path) -> list[Manifest]:
    """What `kustomize build DIRECTORY` gives, for the fields this project uses."""
    where = rel(directory / "kustomization.yaml")
    kustomization = load_kustomization(directory)
    unsupported = sorted(set(kustomization) - _KUSTOMIZATION_FIELDS)
    if unsupported:
        raise RenderError(
            f"{where}: field(s) {', '.join(unsupported)} not supported by k8s/render.py "
            "(extend render() before using them)"
        )
    rendered: list[Manifest] = []
    for resource in kustomization.get("resources") or []:
        target = (directory / resource).resolve()
        if target.is_dir():
            rendered.extend(render(target))
        elif target.is_file():
            rendered.extend(load_documents(target))
        else:
            raise RenderError(f"{where}: resource {resource} does not exist")
    for patch in kustomization.get("patches") or []:
        if set(patch) != {"path"}:
            raise RenderError(
                f"{where}: only patches given by `path` (strategic merge) are supported"
            )
        for document in load_documents(directory / patch["path"]):
            _apply_patch(rendered, document, f"{where}: patch {patch['path']}")
    namespace = kustomization.get("namespace")
    if namespace:
        for document in rendered:
            if document.get("kind") not in _CLUSTER_SCOPED:
                document.setdefault("metadata", {})["namespace"] = namespace
    for entry in kustomization.get("labels") or []:
        _apply_labels(rendered, entry, where)
    for entry in kustomization.get("images") or []:
        _apply_image(rendered, entry)
    return rendered


def _apply_patch(documents: list[Manifest], patch: Manifest, where: str) -> None:
    name = patch.get("metadata", {}).get("name")
    matches = [
        d
        for d in documents
        if d.get("kind") == patch.get("kind")
        and _group(d.get("apiVersion")) == _group(patch.get("apiVersion"))
        and d.get("metadata", {}).get("name") == name
    ]
    if len(matches) != 1:
        raise RenderError(f"{where}: matches {len(matches)} object(s) {patch.get('kind')}/{name}")
    merged = strategic_merge(matches[0], patch)
    matches[0].clear()
    matches[0].update(merged)


def strategic_merge(original: Any, patch: Any, key: str | None = None) -> Any:
    """A strategic merge patch, for maps and the lists named in _MERGE_KEYS."""
    if isinstance(original, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(original)
        for field, value in patch.items():
            if value is None:
                merged.pop(field, None)
            elif field in merged:
                merged[field] = strategic_merge(merged[field], value, field)
            else:
                merged[field] = copy.deepcopy(value)
        return merged
    merge_key = _MERGE_KEYS.get(key or "")
    if isinstance(original, list) and isinstance(patch, list) and merge_key:
        merged_list = copy.deepcopy(original)
        for item in patch:
            same = [i for i, o in enumerate(merged_list) if o.get(merge_key) == item[merge_key]]
            if same:
                merged_list[same[0]] = strategic_merge(merged_list[same[0]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _apply_labels(documents: list[Manifest], entry: Manifest, where: str) -> None:
    if entry.get("includeSelectors") or set(entry) - _LABELS_FIELDS:
        raise RenderError(
            f"{where}: labels entries support only `pairs` and `includeTemplates` "
            "(set selectors explicitly in the manifests)"
        )
    pairs = entry.get("pairs") or {}
    for document in documents:
        document.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if entry.get("includeTemplates") and document.get("kind") in POD_TEMPLATE_KINDS:
            template = document.get("spec", {}).get("template", {})
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _apply_image(documents: list[Manifest], entry: Manifest) -> None:
    for container in containers(documents):
        image = container.get("image", "")
        name, tag, digest = split_image(image)
        if name != entry["name"]:
            continue
        name = entry.get("newName", name)
        if entry.get("digest"):
            container["image"] = f"{name}@{entry['digest']}"
        elif entry.get("newTag"):
            container["image"] = f"{name}:{entry['newTag']}"
        else:
            container["image"] = name + (f"@{digest}" if digest else f":{tag}" if tag else "")


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def _group(api_version: Any) -> str:
    text = str(api_version or "")
    return text.split("/")[0] if "/" in text else ""
