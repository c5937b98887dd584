"""Every document against its schema: Kubernetes' own, or ours for a custom resource.

The official Kubernetes JSON schemas come from the kubernetes-validate package, which
ships them inside its wheel, so the check needs no network and no cluster. Strict mode
makes an unknown (for instance misspelt) field an error instead of something the API
server would silently drop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import jsonschema
from kubernetes_validate import utils as kubernetes_validate
from kubernetes_validate import version as kubernetes_validate_version

from k8s.manifests import K8S_DIR, Manifest, describe, rel

KUBERNETES_VERSION = "1.29"

#: Custom resources are not in the Kubernetes schemas: each has its own JSON schema here.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): K8S_DIR / "schemas" / "servicemonitor.json",
}


def schema_sources() -> str:
    """Which schemas the check uses, for the first line of its output."""
    crds = ", ".join(f"{kind} ({rel(path)})" for (_, kind), path in CRD_SCHEMAS.items())
    return (
        f"Kubernetes {KUBERNETES_VERSION} schemas, strict, from kubernetes-validate "
        f"{kubernetes_validate_version.__version__} (offline); custom resources: {crds}"
    )


def validate_document(document: Manifest, where: str) -> list[str]:
    """Problems of one document against its schema (Kubernetes, or ours for a CRD)."""
    if not all(document.get(key) for key in ("apiVersion", "kind")):
        return [f"{where}: a document has no apiVersion or kind"]
    if not (document.get("metadata") or {}).get("name"):
        return [f"{where}: {document['kind']} has no metadata.name"]
    label = f"{where}: {describe(document)}"
    crd_schema = CRD_SCHEMAS.get((document["apiVersion"], document["kind"]))
    if crd_schema is not None:
        schema = json.loads(crd_schema.read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        return [
            f"{label}: {_path(error.absolute_path)}: {error.message}"
            for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        ]
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{label}: {_path(error.path)}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [
            f"{label}: {error.message}; a custom resource needs a schema in k8s/schemas/ "
            "and an entry in CRD_SCHEMAS"
        ]
    except kubernetes_validate.VersionNotSupportedError as error:
        return [f"{label}: {error.message}"]
    return []


def _path(parts: Iterable[Any]) -> str:
    return ".".join(str(part) for part in parts) or "(document)"
