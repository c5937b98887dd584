"""Body schemas as data: one declaration feeds both validation and the OpenAPI document."""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from shared.contract.errors import Invalid
from shared.contract.jsontext import storable_text

Kind = Literal["string", "integer", "number", "boolean", "uuid", "object", "array", "enum", "any"]
_MISSING: Any = object()


@dataclass(frozen=True)
class Field:
    kind: Kind
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    trim: bool = False
    items: Field | None = None
    default: Any = _MISSING
    description: str = ""

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING


@dataclass(frozen=True)
class Schema:
    name: str
    fields: Mapping[str, Field]
    #: Strict bodies reject unknown keys; lenient ones ignore them.
    strict: bool = False
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


Problem = dict[str, Any]


def patch_of(schema: Schema, name: str, *, without: tuple[str, ...] = ()) -> Schema:
    """The PATCH form of a create schema: every field optional, no defaults, because
    an absent field means "unchanged"."""
    fields = {
        key: replace(spec, required=False, default=_MISSING)
        for key, spec in schema.fields.items()
        if key not in without
    }
    return Schema(name, fields, strict=schema.strict, description=schema.description)


def validate(schema: Schema, body: Any, *, partial: bool = False) -> dict[str, Any]:
    """The body's known keys, coerced and checked; defaults applied unless `partial`."""
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    problems: list[Problem] = []
    if schema.strict:
        problems += [
            {"path": [key], "message": f"Unrecognized key: {key}"}
            for key in body
            if key not in schema.fields
        ]
    result: dict[str, Any] = {}
    for name, spec in schema.fields.items():
        if name not in body:
            if spec.required and not partial:
                problems.append({"path": [name], "message": "Required"})
            elif spec.has_default and not partial:
                result[name] = copy.deepcopy(spec.default)
            continue
        value, problem = check_value(spec, body[name])
        if problem is None:
            result[name] = value
        else:
            problems.append({"path": [name], "message": problem})
    if problems:
        raise Invalid("Validation error", details=problems)
    return result


def check_value(spec: Field, value: Any) -> tuple[Any, str | None]:
    """The coerced value and None, or None and what is wrong with it."""
    if value is None:
        return (None, None) if spec.nullable else (None, f"Expected {spec.kind}, received null")
    checker = _CHECKERS[spec.kind]
    return checker(spec, value)


def _check_string(spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, f"Expected string, received {_type_name(value)}"
    if not storable_text(value):
        return None, "String must not contain NUL or lone surrogate characters"
    if spec.trim:
        value = value.strip()
    if spec.min_length is not None and len(value) < spec.min_length:
        return None, f"String must contain at least {spec.min_length} character(s)"
    if spec.max_length is not None and len(value) > spec.max_length:
        return None, f"String must contain at most {spec.max_length} character(s)"
    return value, None


def _check_enum(spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or value not in spec.choices:
        options = " | ".join(f"'{c}'" for c in spec.choices)
        return None, f"Invalid enum value. Expected {options}, received {_repr(value)}"
    return value, None


def _check_uuid(_spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str):
        return None, f"Expected string, received {_type_name(value)}"
    try:
        return uuid.UUID(value), None
    except ValueError:
        return None, "Invalid uuid"


def _check_integer(spec: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"Expected integer, received {_type_name(value)}"
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        return None, "Expected integer, received float"
    return _check_bounds(spec, int(value))


def _check_number(spec: Field, value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"Expected number, received {_type_name(value)}"
    return _check_bounds(spec, value)


def _check_bounds(spec: Field, value: float) -> tuple[Any, str | None]:
    if spec.minimum is not None and value < spec.minimum:
        return None, f"Number must be greater than or equal to {_num(spec.minimum)}"
    if spec.maximum is not None and value > spec.maximum:
        return None, f"Number must be less than or equal to {_num(spec.maximum)}"
    return value, None


def _check_boolean(_spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, bool):
        return None, f"Expected boolean, received {_type_name(value)}"
    return value, None


def _check_object(_spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, dict):
        return None, f"Expected object, received {_type_name(value)}"
    return value, None


def _check_array(spec: Field, value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list):
        return None, f"Expected array, received {_type_name(value)}"
    if spec.max_length is not None and len(value) > spec.max_length:
        return None, f"Array must contain at most {spec.max_length} element(s)"
    if spec.items is None:
        return value, None
    checked = []
    for index, item in enumerate(value):
        item_value, problem = check_value(spec.items, item)
        if problem is not None:
            return None, f"Item {index}: {problem}"
        checked.append(item_value)
    return checked, None


def _check_any(_spec: Field, value: Any) -> tuple[Any, str | None]:
    return value, None


_CHECKERS = {
    "string": _check_string,
    "enum": _check_enum,
    "uuid": _check_uuid,
    "integer": _check_integer,
    "number": _check_number,
    "boolean": _check_boolean,
    "object": _check_object,
    "array": _check_array,
    "any": _check_any,
}


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    if value is None:
        return "null"
    return names.get(type(value), "object")


def _repr(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else _type_name(value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
