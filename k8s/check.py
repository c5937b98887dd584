"""Offline checks of the Kubernetes manifests and the Grafana dashboard (`make k8s-check`).

1. Renders every kustomization (k8s/base, k8s/overlays/production) in pure Python, with no
   kustomize binary: `resources`, `namespace`, `labels`, `images` and strategic-merge
   `patches` given by `path` are supported; any other field is reported as a problem
   rather than rendered wrongly.
2. Validates every rendered document, and the Secret template, against the official
   Kubernetes JSON schemas for KUBERNETES_VERSION in strict mode (unknown fields are
   errors), with the kubernetes-validate package, which ships those schemas inside its
   wheel (no network). Custom resources (ServiceMonitor) are validated against the JSON
   schemas in k8s/schemas/ with jsonschema.
3. Cross-checks what a schema cannot see: references between objects (Services, Ingress
   backends, HPA targets, PDB and ServiceMonitor selectors, envFrom, named ports),
   resources, security contexts and probes of every workload, network policies that open
   every container port, environment variable names known to the code, and a Secret
   template that holds nothing but placeholders.
4. Checks that the Grafana dashboard is valid JSON (schemaVersion 39), that every query
   uses only the service's metric names, that every metric has a panel, and that every
   metric name is still defined by the code (shared/platform/metrics.py, Dramatiq's middleware).

Exits 0 when all is well, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes_validate import utils as kubernetes_validate
from kubernetes_validate import version as kubernetes_validate_version

Manifest = dict[str, Any]

K8S_DIR = Path(__file__).resolve().parent
REPO_DIR = K8S_DIR.parent
KUBERNETES_VERSION = "1.29"
KUSTOMIZATIONS = ("base", "overlays/production")
SECRET_TEMPLATE = K8S_DIR / "base" / "secret.template.yaml"
DASHBOARD = K8S_DIR / "grafana" / "routines-dashboard.json"
DASHBOARD_SCHEMA_VERSION = 39
PLACEHOLDER = "CHANGE-ME"

#: Custom resources are not in the Kubernetes schemas: each has its own JSON schema here.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): K8S_DIR / "schemas" / "servicemonitor.json",
}

#: The metric names that the dashboard may use (shared/platform/metrics.py and Dramatiq's own).
METRICS = frozenset(
    {
        "routines_http_requests_total",
        "routines_http_request_duration_seconds_bucket",
        "routines_fires_accepted_total",
        "routines_webhook_signature_failures_total",
        "routines_rate_limited_total",
        "routines_runs_decided_total",
        "routines_fire_to_decision_seconds_bucket",
        "routines_dispatch_errors_total",
        "routines_queue_depth",
        "routines_queue_delayed_depth",
        "routines_queue_dead_letter_depth",
        "routines_scheduler_leader",
        "routines_scheduler_due_backlog",
        "routines_schedule_lag_seconds_bucket",
        "routines_missed_ticks_total",
        "routines_sweep_reenqueued_total",
        "dramatiq_messages_total",
        "dramatiq_message_errors_total",
        "dramatiq_message_duration_milliseconds_bucket",
    }
)
#: A histogram's _bucket comes with its _sum and _count.
_ALLOWED_METRICS = METRICS | {
    m.removesuffix("_bucket") + suffix
    for m in METRICS
    if m.endswith("_bucket")
    for suffix in ("_sum", "_count")
}
_METRIC_TOKEN = re.compile(r"\b(?:routines|dramatiq)_[a-zA-Z0-9_:]*")
_QUOTED = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")

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
_POD_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})
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
#: Environment variables read by third-party code rather than by the service itself.
#: dramatiq_worker_timeout: read by dramatiq itself (see launcher/cli.py IDLE_POLL_MS).
_THIRD_PARTY_ENV = frozenset({"WEB_CONCURRENCY", "dramatiq_worker_timeout"})
_SERVICE_PACKAGES = ("shared", "web", "workers", "scheduler", "launcher")


class CheckError(Exception):
    """A problem that stops the rendering of a kustomization."""


# --------------------------------------------------------------------------- rendering


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of a file."""
    try:
        documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise CheckError(f"{_rel(path)}: cannot be read as YAML: {error}") from error
    for document in documents:
        if document is not None and not isinstance(document, dict):
            raise CheckError(f"{_rel(path)}: a document is not a mapping")
    return [document for document in documents if document]


def render(directory: Path) -> list[Manifest]:
    """What `kustomize build DIRECTORY` gives, for the fields this project uses."""
    path = directory / "kustomization.yaml"
    documents = load_documents(path)
    if len(documents) != 1:
        raise CheckError(f"{_rel(path)}: expected exactly one document")
    kustomization = documents[0]
    unsupported = sorted(set(kustomization) - _KUSTOMIZATION_FIELDS)
    if unsupported:
        raise CheckError(
            f"{_rel(path)}: field(s) {', '.join(unsupported)} not supported by k8s/check.py's "
            "renderer (extend render() before using them)"
        )
    rendered: list[Manifest] = []
    for resource in kustomization.get("resources") or []:
        target = (directory / resource).resolve()
        if target.is_dir():
            rendered.extend(render(target))
        elif target.is_file():
            rendered.extend(load_documents(target))
        else:
            raise CheckError(f"{_rel(path)}: resource {resource} does not exist")
    for patch in kustomization.get("patches") or []:
        if set(patch) != {"path"}:
            raise CheckError(
                f"{_rel(path)}: only patches given by `path` (strategic merge) are supported"
            )
        for document in load_documents(directory / patch["path"]):
            _apply_patch(rendered, document, f"{_rel(path)}: patch {patch['path']}")
    namespace = kustomization.get("namespace")
    if namespace:
        for document in rendered:
            if document.get("kind") not in _CLUSTER_SCOPED:
                document.setdefault("metadata", {})["namespace"] = namespace
    for entry in kustomization.get("labels") or []:
        _apply_labels(rendered, entry, _rel(path))
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
        raise CheckError(f"{where}: matches {len(matches)} object(s) {patch.get('kind')}/{name}")
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
        raise CheckError(
            f"{where}: labels entries support only `pairs` and `includeTemplates` "
            "(set selectors explicitly in the manifests)"
        )
    pairs = entry.get("pairs") or {}
    for document in documents:
        document.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if entry.get("includeTemplates") and document.get("kind") in _POD_TEMPLATE_KINDS:
            template = document.get("spec", {}).get("template", {})
            template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def _apply_image(documents: list[Manifest], entry: Manifest) -> None:
    for container in _containers(documents):
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


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_DIR))
    except ValueError:
        return str(path)


# -------------------------------------------------------------------------- validation


def describe(document: Manifest) -> str:
    metadata = document.get("metadata") or {}
    return f"{document.get('kind', '?')}/{metadata.get('name', '?')}"


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


# ---------------------------------------------------------------------- cross-checks


def find(documents: Iterable[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [
        d
        for d in documents
        if d.get("kind") == kind and (name is None or d["metadata"].get("name") == name)
    ]


def pod_spec(document: Manifest) -> Manifest | None:
    if document.get("kind") in _POD_TEMPLATE_KINDS:
        spec: Manifest = document.get("spec", {}).get("template", {}).get("spec", {})
        return spec
    return None


def _containers(documents: Iterable[Manifest]) -> Iterator[Manifest]:
    for document in documents:
        spec = pod_spec(document)
        if spec is not None:
            yield from spec.get("containers", [])
            yield from spec.get("initContainers", [])


def _template_labels(document: Manifest) -> dict[str, str]:
    labels: dict[str, str] = document["spec"]["template"].get("metadata", {}).get("labels", {})
    return labels


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (or a plain Service selector map) matches these labels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        match_labels, expressions = selector, []
    else:
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


def _selected_workloads(documents: list[Manifest], selector: Manifest) -> list[Manifest]:
    return [
        d
        for d in documents
        if selector
        and d.get("kind") in _POD_TEMPLATE_KINDS
        and _selects(selector, _template_labels(d))
    ]


def _port_names(workloads: Iterable[Manifest]) -> set[str]:
    return {
        port["name"]
        for workload in workloads
        for container in (pod_spec(workload) or {}).get("containers", [])
        for port in container.get("ports", [])
        if "name" in port
    }


def check_workloads(documents: list[Manifest], where: str) -> list[str]:
    """Resources, security context and probes of every container."""
    problems = []
    for workload in documents:
        spec = pod_spec(workload)
        if spec is None:
            continue
        label = f"{where}: {describe(workload)}"
        pod_security = spec.get("securityContext") or {}
        for container in spec.get("containers", []):
            at = f"{label} container {container.get('name')}"
            resources = container.get("resources") or {}
            for bound in ("requests", "limits"):
                missing = {"cpu", "memory"} - set(resources.get(bound) or {})
                if missing:
                    problems.append(f"{at}: resources.{bound} lacks {', '.join(sorted(missing))}")
            security = container.get("securityContext") or {}
            if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
                problems.append(f"{at}: runAsNonRoot is not set")
            if security.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{at}: readOnlyRootFilesystem is not true")
            if security.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{at}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{at}: capabilities.drop does not contain ALL")
            ports = {p.get("name") for p in container.get("ports", [])}
            for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(probe_name) or {}
                port = (probe.get("httpGet") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    problems.append(f"{at}: {probe_name} uses port {port}, not a named port")
            if workload["kind"] == "Deployment":
                for probe_name in ("readinessProbe", "livenessProbe"):
                    if not container.get(probe_name):
                        problems.append(f"{at}: no {probe_name}")
    return problems


def check_references(
    documents: list[Manifest], where: str, extra: Iterable[Manifest] = ()
) -> list[str]:
    """Every name or selector that points at another object points at one that exists."""
    problems = []
    known = [*documents, *extra]
    for document in documents:
        kind, label = document.get("kind"), f"{where}: {describe(document)}"
        spec = document.get("spec") or {}
        if kind == "Service" and spec.get("selector"):
            workloads = _selected_workloads(documents, spec["selector"])
            if not workloads:
                problems.append(f"{label}: selector matches no pod template")
            for port in spec.get("ports", []):
                target = port.get("targetPort")
                if isinstance(target, str) and target not in _port_names(workloads):
                    problems.append(f"{label}: targetPort {target} is not a container port")
        elif kind == "Ingress":
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
                        problems.append(
                            f"{label}: backend {backend['name']}:{port} is not a Service port"
                        )
        elif kind == "HorizontalPodAutoscaler":
            target = spec["scaleTargetRef"]
            if not find(documents, target["kind"], target["name"]):
                problems.append(f"{label}: scaleTargetRef {target['name']} does not exist")
        elif kind == "PodDisruptionBudget" and not _selected_workloads(
            documents, spec.get("selector") or {}
        ):
            problems.append(f"{label}: selector matches no pod template")
        elif kind == "ServiceMonitor":
            services = [
                s for s in find(documents, "Service") if _selects(spec["selector"], _labels(s))
            ]
            if not services:
                problems.append(f"{label}: selector matches no Service")
            names = {p.get("name") for s in services for p in s["spec"]["ports"]}
            for endpoint in spec.get("endpoints", []):
                if "port" in endpoint and endpoint["port"] not in names:
                    problems.append(f"{label}: endpoint port {endpoint['port']} on no Service")
        problems.extend(f"{label}: {problem}" for problem in _env_from_problems(document, known))
    return problems


def _env_from_problems(document: Manifest, known: list[Manifest]) -> Iterator[str]:
    for container in (pod_spec(document) or {}).get("containers", []):
        for source in container.get("envFrom", []):
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = source.get(field)
                if ref and not find(known, kind, ref["name"]):
                    yield f"envFrom {kind} {ref['name']} does not exist"


def _labels(document: Manifest) -> dict[str, str]:
    labels: dict[str, str] = document.get("metadata", {}).get("labels") or {}
    return labels


def check_network_policies(documents: list[Manifest], where: str) -> list[str]:
    """With ingress denied by default, every container port must be opened by a policy."""
    problems = []
    policies = find(documents, "NetworkPolicy")
    if not any(
        p["spec"].get("podSelector") == {} and not p["spec"].get("ingress")
        and "Ingress" in p["spec"].get("policyTypes", [])
        for p in policies
    ):  # fmt: skip
        problems.append(f"{where}: no default-deny ingress NetworkPolicy")
    for workload in documents:
        spec = pod_spec(workload)
        if spec is None or workload["kind"] == "Job":
            continue
        labels = _template_labels(workload)
        opened = {
            port.get("port")
            for policy in policies
            if _selects(policy["spec"].get("podSelector") or {}, labels)
            for rule in policy["spec"].get("ingress") or []
            for port in rule.get("ports") or []
        }
        for container in spec.get("containers", []):
            for port in container.get("ports", []):
                if port["containerPort"] not in opened and port.get("name") not in opened:
                    problems.append(
                        f"{where}: {describe(workload)} port {port['containerPort']} is "
                        "opened by no NetworkPolicy"
                    )
    return problems


def known_environment_variables() -> set[str]:
    """Upper-case string literals of the service's code: the variables it can read."""
    names = set(_THIRD_PARTY_ENV)
    for package in _SERVICE_PACKAGES:
        for source in (REPO_DIR / package).rglob("*.py"):
            names.update(re.findall(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']", source.read_text("utf-8")))
    return names


def check_environment(documents: list[Manifest], where: str, known: set[str]) -> list[str]:
    """Every variable set by a ConfigMap, a Secret or a container is one the code reads."""
    problems = []
    for document in documents:
        names: list[str] = []
        if document.get("kind") == "ConfigMap":
            names = list(document.get("data") or {})
        elif document.get("kind") == "Secret":
            names = [*(document.get("stringData") or {}), *(document.get("data") or {})]
        spec = pod_spec(document)
        if spec is not None:
            names = [e["name"] for c in spec.get("containers", []) for e in c.get("env", [])]
        problems.extend(
            f"{where}: {describe(document)} sets {name}, which the service never reads"
            for name in names
            if name not in known
        )
    return problems


def check_secrets(template: list[Manifest], rendered: dict[str, list[Manifest]]) -> list[str]:
    """The template holds only placeholders; no kustomization ships a Secret."""
    problems = []
    where = _rel(SECRET_TEMPLATE)
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


def check_unreferenced_files() -> list[str]:
    """Every YAML file under base/ and overlays/ is used by a kustomization (or a template)."""
    referenced = {SECRET_TEMPLATE.resolve()}
    for name in KUSTOMIZATIONS:
        directory = K8S_DIR / name
        referenced.add((directory / "kustomization.yaml").resolve())
        kustomization = load_documents(directory / "kustomization.yaml")[0]
        for entry in kustomization.get("resources") or []:
            referenced.add((directory / entry).resolve())
        for patch in kustomization.get("patches") or []:
            referenced.add((directory / patch.get("path", "")).resolve())
    return [
        f"{_rel(path)}: not listed in any kustomization (resources or patches)"
        for folder in ("base", "overlays")
        for path in sorted((K8S_DIR / folder).rglob("*.y*ml"))
        if path.resolve() not in referenced
    ]


# ------------------------------------------------------------------------- dashboard


def metric_names(expr: str) -> set[str]:
    """The routines_* and dramatiq_* names of a PromQL expression (quoted text ignored)."""
    return set(_METRIC_TOKEN.findall(_QUOTED.sub('""', expr)))


def _panels(panels: list[Manifest]) -> Iterator[Manifest]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels") or [])


def check_dashboard(path: Path = DASHBOARD) -> tuple[list[str], int, int]:
    """(problems, panels, queries) of the Grafana dashboard JSON model."""
    where = _rel(path)
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"{where}: not valid JSON: {error}"], 0, 0
    problems = []
    if model.get("schemaVersion") != DASHBOARD_SCHEMA_VERSION:
        problems.append(f"{where}: schemaVersion is not {DASHBOARD_SCHEMA_VERSION}")
    for key in ("title", "uid", "panels"):
        if not model.get(key):
            problems.append(f"{where}: no {key}")
    panels = list(_panels(model.get("panels") or []))
    ids = [panel.get("id") for panel in panels]
    if len(ids) != len(set(ids)) or None in ids:
        problems.append(f"{where}: panel ids are missing or not unique")
    used: set[str] = set()
    queries = 0
    expressions = [
        (f"panel {panel.get('title')!r}", target.get("expr"))
        for panel in panels
        if panel.get("type") != "row"
        for target in panel.get("targets") or [{}]
    ]
    for variable in (model.get("templating") or {}).get("list", []):
        if variable.get("type") == "query":
            query = variable.get("query")
            text = query.get("query") if isinstance(query, dict) else query
            expressions.append((f"variable {variable.get('name')!r}", text))
    for label, expr in expressions:
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"{where}: {label}: a query has no expr")
            continue
        queries += 1
        names = metric_names(expr)
        unknown = sorted(names - _ALLOWED_METRICS)
        if unknown:
            problems.append(f"{where}: {label}: unknown metric(s) {', '.join(unknown)}")
        if not names & _ALLOWED_METRICS:
            problems.append(f"{where}: {label}: query uses none of the service's metrics")
        used |= {name.removesuffix("_sum").removesuffix("_count") for name in names}
        used |= names
    unused = sorted(m for m in METRICS if m not in used and m.removesuffix("_bucket") not in used)
    if unused:
        problems.append(f"{where}: no panel shows {', '.join(unused)}")
    return problems, len(panels), queries


def check_metrics_defined() -> list[str]:
    """Every metric of METRICS is defined by the service's code or Dramatiq's middleware."""
    sources = [p for package in _SERVICE_PACKAGES for p in (REPO_DIR / package).rglob("*.py")]
    spec = importlib.util.find_spec("dramatiq.middleware.prometheus")
    if spec is not None and spec.origin:
        sources.append(Path(spec.origin))
    defined: set[str] = set()
    for source in sources:
        defined.update(
            re.findall(r"[\"']((?:routines|dramatiq)_[a-z0-9_]+)[\"']", source.read_text("utf-8"))
        )
    return [
        f"k8s/check.py: metric {metric} is defined nowhere in the code (renamed?)"
        for metric in sorted(METRICS)
        if metric.removesuffix("_bucket") not in defined
    ]


# ------------------------------------------------------------------------------ main


def check_all() -> tuple[list[str], list[str]]:
    """(problems, summary lines) of every check."""
    problems: list[str] = []
    summary: list[str] = []
    rendered: dict[str, list[Manifest]] = {}
    for name in KUSTOMIZATIONS:
        try:
            rendered[name] = render(K8S_DIR / name)
        except CheckError as error:
            problems.append(str(error))
    try:
        template = load_documents(SECRET_TEMPLATE)
    except CheckError as error:
        problems.append(str(error))
        template = []
    known_env = known_environment_variables()
    for document in template:
        problems.extend(validate_document(document, _rel(SECRET_TEMPLATE)))
    problems.extend(check_environment(template, _rel(SECRET_TEMPLATE), known_env))
    for name, documents in rendered.items():
        where = f"k8s/{name}"
        seen: set[tuple[str, str]] = set()
        for document in documents:
            problems.extend(validate_document(document, where))
            key = (str(document.get("kind")), str((document.get("metadata") or {}).get("name")))
            if key in seen:
                problems.append(f"{where}: {key[0]}/{key[1]} is defined twice")
            seen.add(key)
        try:
            problems.extend(check_workloads(documents, where))
            problems.extend(check_references(documents, where, extra=template))
            problems.extend(check_network_policies(documents, where))
            problems.extend(check_environment(documents, where, known_env))
        except (KeyError, TypeError, AttributeError) as error:
            problems.append(f"{where}: cross-checks stopped on a malformed manifest ({error!r})")
        kinds = sorted({str(d.get("kind")) for d in documents})
        summary.append(f"{where}: {len(documents)} documents ({', '.join(kinds)})")
    problems.extend(check_secrets(template, rendered))
    problems.extend(check_unreferenced_files())
    problems.extend(check_metrics_defined())
    dashboard_problems, panels, queries = check_dashboard()
    problems.extend(dashboard_problems)
    summary.append(f"{_rel(DASHBOARD)}: {panels} panels, {queries} queries")
    return problems, summary


def main() -> int:
    problems, summary = check_all()
    crds = ", ".join(f"{kind} ({_rel(path)})" for (_, kind), path in CRD_SCHEMAS.items())
    print(
        f"k8s-check: Kubernetes {KUBERNETES_VERSION} schemas, strict, from kubernetes-validate "
        f"{kubernetes_validate_version.__version__} (offline); custom resources: {crds}"
    )
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
