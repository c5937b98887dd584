"""`{{ name }}` placeholders in routine titles and descriptions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}")


def placeholders(*templates: str | None) -> list[str]:
    """Names used, in order of first appearance."""
    seen: dict[str, None] = {}
    for template in templates:
        for match in PLACEHOLDER.finditer(template or ""):
            seen.setdefault(match.group(1), None)
    return list(seen)


def render(template: str | None, values: Mapping[str, Any]) -> str | None:
    """Fill known placeholders; unknown ones stay as written so nothing is silently lost."""
    if template is None:
        return None

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return _text(values[name]) if name in values else match.group(0)

    return PLACEHOLDER.sub(fill, template)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)
