"""The checks of the rendered manifests, the Secret template and the dashboard, by concern.

Each check is a function returning one line per problem (an empty list when all is
well), so that `check_all` can run them all and report everything at once rather than
stopping at the first problem.
"""

from __future__ import annotations

from k8s.checks.dashboard import check_dashboard
from k8s.checks.environment import check_environment, known_environment_variables
from k8s.checks.exported_metrics import check_metrics_defined
from k8s.checks.network_policies import check_network_policies
from k8s.checks.references import check_references
from k8s.checks.schemas import validate_document
from k8s.checks.secrets import check_secrets
from k8s.checks.unused_files import check_unreferenced_files
from k8s.checks.workloads import check_workloads
from k8s.manifests import DASHBOARD, K8S_DIR, KUSTOMIZATIONS, SECRET_TEMPLATE, Manifest, rel
from k8s.render import RenderError, load_documents, render


def check_all() -> tuple[list[str], list[str]]:
    """(problems, summary lines) of every check."""
    problems: list[str] = []
    summary: list[str] = []
    rendered: dict[str, list[Manifest]] = {}
    for name in KUSTOMIZATIONS:
        try:
            rendered[name] = render(K8S_DIR / name)
        except RenderError as error:
            problems.append(str(error))
    try:
        template = load_documents(SECRET_TEMPLATE)
    except RenderError as error:
        problems.append(str(error))
        template = []
    known_env = known_environment_variables()
    for document in template:
        problems.extend(validate_document(document, rel(SECRET_TEMPLATE)))
    problems.extend(check_environment(template, rel(SECRET_TEMPLATE), known_env))
    for name, documents in rendered.items():
        where = f"k8s/{name}"
        problems.extend(_check_kustomization(documents, where, template, known_env))
        kinds = sorted({str(d.get("kind")) for d in documents})
        summary.append(f"{where}: {len(documents)} documents ({', '.join(kinds)})")
    problems.extend(check_secrets(template, rendered))
    problems.extend(check_unreferenced_files())
    problems.extend(check_metrics_defined())
    dashboard_problems, panels, queries = check_dashboard()
    problems.extend(dashboard_problems)
    summary.append(f"{rel(DASHBOARD)}: {panels} panels, {queries} queries")
    return problems, summary


def _check_kustomization(
    documents: list[Manifest], where: str, template: list[Manifest], known_env: set[str]
) -> list[str]:
    """Schemas and uniqueness of every document, then the cross-checks of them together."""
    problems: list[str] = []
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
    return problems
