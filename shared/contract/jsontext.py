"""Parsing request JSON into values PostgreSQL can store, or a 400.

JSONB refuses NaN/Infinity and U+0000, and psycopg2 refuses lone surrogates, so
such input is turned away here instead of failing as a 500 at insert time.
"""

from __future__ import annotations

import json
import math
from typing import Any

from shared.contract.errors import Invalid

#: Deepest nesting accepted; deeper bodies are a 400, not a RecursionError.
MAX_DEPTH = 64


def parse(data: bytes) -> Any:
    try:
        value = json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):
        raise Invalid("Malformed JSON body") from None
    problem = _first_problem(value, depth=0)
    if problem:
        raise Invalid(problem)
    return value


def storable_text(text: str) -> bool:
    """False for text that PostgreSQL cannot keep (NUL, unpaired surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _first_problem(value: Any, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, str):
        return (
            None if storable_text(value) else "JSON strings must not contain NUL or lone surrogates"
        )
    if isinstance(value, dict):
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        problem = _first_problem(item, depth + 1)
        if problem:
            return problem
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("number out of range")
    return number
