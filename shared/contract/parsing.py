"""Parsing a request body into its model, or a 400 in the contract's words.

The 400 is `{"error": "Validation error", "details": [{"path": [key], "message": ...}]}`:
one problem per key, unknown keys first, then the declared keys in declaration order,
with the messages API clients already match on. pydantic finds the problems; `_message`
words them.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from shared.contract.errors import Invalid
from shared.contract.fields import type_name

B = TypeVar("B", bound=BaseModel)

#: pydantic's type errors, by the name the contract gives the expected type.
_EXPECTED = {
    "string_type": "string",
    "bool_type": "boolean",
    "list_type": "array",
}


def parse_body(model: type[B], body: object) -> B:
    """The body as a `model`, or Invalid listing every problem."""
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise Invalid("Validation error", details=problems(model, error)) from None


class Problem(TypedDict):
    path: list[str]
    message: str


def problems(model: type[BaseModel], error: ValidationError) -> list[Problem]:
    keys = [field.alias or name for name, field in model.model_fields.items()]
    position = {key: index for index, key in enumerate(keys)}
    found: dict[str, Problem] = {}
    for detail in sorted(error.errors(), key=lambda d: position.get(str(d["loc"][0]), -1)):
        key, item = str(detail["loc"][0]), detail["loc"][1:2]
        message = _message(model, detail)
        if item:  # only the first bad item of an array is told
            message = f"Item {item[0]}: {message}"
        found.setdefault(key, {"path": [key], "message": message})
    return list(found.values())


def _message(model: type[BaseModel], detail: ErrorDetails) -> str:
    kind, loc, value = detail["type"], detail["loc"], detail.get("input")
    ctx = detail.get("ctx", {})
    if kind == "missing":
        return "Required"
    if kind == "extra_forbidden":
        return f"Unrecognized key: {loc[0]}"
    if kind in _EXPECTED:
        return f"Expected {_EXPECTED[kind]}, received {type_name(value)}"
    if kind in ("literal_error", "string_unicode"):  # the latter: a lone surrogate
        if value is None:
            return "Expected enum, received null"
        options = " | ".join(f"'{choice}'" for choice in _choices(model, str(loc[0])))
        received = f"'{value}'" if isinstance(value, str) else type_name(value)
        return f"Invalid enum value. Expected {options}, received {received}"
    if kind == "string_too_short":
        return f"String must contain at least {ctx['min_length']} character(s)"
    if kind == "string_too_long":
        return f"String must contain at most {ctx['max_length']} character(s)"
    if kind == "too_long":
        return f"Array must contain at most {ctx['max_length']} element(s)"
    if kind == "greater_than_equal":
        return f"Number must be greater than or equal to {_number(ctx['ge'])}"
    if kind == "less_than_equal":
        return f"Number must be less than or equal to {_number(ctx['le'])}"
    # CONTRACT_ERROR, raised by shared.contract.fields, is worded already.
    return detail["msg"]


def _choices(model: type[BaseModel], key: str) -> tuple[object, ...]:
    """The Literal choices of the field at `key`, or of its items."""
    field = next(f for name, f in model.model_fields.items() if (f.alias or name) == key)
    return _literal_args(field.annotation)


def _literal_args(annotation: Any) -> tuple[object, ...]:
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    for arg in get_args(annotation):
        found = _literal_args(arg)
        if found:
            return found
    return ()


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
