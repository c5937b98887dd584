"""The field types of request bodies: where the contract is stricter or more lenient than
pydantic's defaults, a validator here says so, raising the contract's own message."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar, get_args

from pydantic import (
    BeforeValidator,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    StrictBool,
)
from pydantic.config import JsonDict
from pydantic_core import CoreSchema, PydanticCustomError
from typing_extensions import TypeAliasType

from shared.contract.jsontext import storable_text

T = TypeVar("T")

#: Error type of the problems raised here; their message is already the contract's.
CONTRACT_ERROR = "contract"


def type_name(value: object) -> str:
    """The JSON name of a value's type, as the 400 messages say it."""
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}
    if value is None:
        return "null"
    return names.get(type(value), "object")


def problem(message: str) -> PydanticCustomError:
    return PydanticCustomError(CONTRACT_ERROR, message)


def _text(value: Any, *, trim: bool) -> Any:
    """Unstorable text is refused before any length check; trimming happens before them.
    Python's `str.strip`, not pydantic's, so what counts as whitespace stays the same."""
    if not isinstance(value, str):
        return value  # pydantic's string_type error names what it is
    if not storable_text(value):
        raise problem("String must not contain NUL or lone surrogate characters")
    return value.strip() if trim else value


def _untrimmed(value: Any) -> Any:
    return _text(value, trim=False)


def _trimmed(value: Any) -> Any:
    return _text(value, trim=True)


def _uuid(value: Any) -> uuid.UUID:
    """As lenient as `uuid.UUID(str)`: braces, a `urn:uuid:` prefix and no hyphens pass."""
    if value is None:
        raise problem("Expected uuid, received null")
    if not isinstance(value, str):
        raise problem(f"Expected string, received {type_name(value)}")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise problem("Invalid uuid") from None


def _integer(value: Any) -> int:
    """A whole float such as 3.0 is an integer; a boolean never is a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem(f"Expected integer, received {type_name(value)}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise problem("Expected integer, received float")
    return int(value)


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise problem(f"Expected object, received {type_name(value)}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise problem(f"Expected number, received {type_name(value)}")
    return value


def _instant(value: Any) -> datetime:
    """An ISO 8601 instant with its offset (`Z` or `+02:00`), in UTC: a naive time would
    mean whatever zone the server is in."""
    if not isinstance(value, str):
        raise problem(f"Expected string, received {type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise problem("Expected an ISO 8601 instant") from None
    if parsed.utcoffset() is None:
        raise problem("Expected an ISO 8601 instant with a time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC datetime
        raise problem("Expected an ISO 8601 instant") from None


#: JSON Schema (ECMA-262) patterns of what `_text` lets through, so that the document
#: promises no string the service refuses. NUL is refused everywhere; lone surrogates are
#: too, but a JSON Schema string is Unicode text and cannot hold one.
NO_NUL = r"^[^\u0000]*$"
#: ... and, for a trimmed string that may not be empty, one character that trimming keeps:
#: neither whitespace to ECMA-262 (`\s`) nor to Python's `str.strip` (`\u001c-\u001f`,
#: `\u0085` beside those).
SOME_TEXT = r"^[^\u0000]*[^\s\u0000\u001c-\u001f\u0085][^\u0000]*$"


@dataclass(frozen=True, eq=False)  # hashed by identity: typing hashes Annotated metadata
class Documented:
    """JSON Schema keywords added to a field's schema: what a validator here (or the use
    case it goes to) enforces, stated for consumers; the schema is not what validates."""

    keywords: Mapping[str, Any]

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonDict:
        return {**handler(schema), **self.keywords}


#: Validators of numbers: like those of strings, they go after the bounds.
INTEGRAL = BeforeValidator(_integer)
FINITE = BeforeValidator(_number)

Uuid = Annotated[uuid.UUID, BeforeValidator(_uuid)]
#: An instant on the wire, as the API writes them (shared.contract.timefmt); aware, in UTC.
Instant = Annotated[
    datetime,
    PlainValidator(_instant, json_schema_input_type=str),
    Field(json_schema_extra={"format": "date-time"}),
]
Boolean = StrictBool
_NO_NUL_KEYS = Documented({"propertyNames": {"pattern": NO_NUL}})
#: Any JSON value the service accepts, for the document only: the request's JSON parsing
#: (shared.contract.jsontext) has refused NUL in its strings and keys at any depth. A value,
#: not a type to mypy (which cannot follow the recursion): it is only ever a schema's input.
JsonValue: Any = TypeAliasType(
    "JsonValue",
    Annotated[
        Annotated[str, Documented({"pattern": NO_NUL})]
        | float
        | bool
        | list["JsonValue"]  # type: ignore[misc]
        | dict[str, "JsonValue"]  # type: ignore[misc]
        | None,
        _NO_NUL_KEYS,
    ],
)
#: Any JSON object, passed through as it is (its keys are not validated either).
JsonObject = Annotated[
    dict[str, Any],
    PlainValidator(_object, json_schema_input_type=dict[str, JsonValue]),
    _NO_NUL_KEYS,
]


#: Validators of strings: they go after the length bounds in `Annotated[StrictStr, ...]`
#: so that they run first (pydantic runs the outermost validator first).
STORABLE = BeforeValidator(_untrimmed)
TRIMMED = BeforeValidator(_trimmed)
#: What they let through, for the document: any string without NUL; one that is not empty
#: once trimmed.
ANY_TEXT = Documented({"pattern": NO_NUL})
NONBLANK_TEXT = Documented({"pattern": SOME_TEXT})


class _ValidatedAsInner:
    """Validates `T | None` as plain `T`: null is refused with T's own message, while the
    default None (never validated) stands for "not given"."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        (inner,) = [arg for arg in get_args(source) if arg is not type(None)]
        return handler.generate_schema(inner)


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)


_UNDOCUMENTED_DEFAULT = Field(json_schema_extra=_no_default)

#: May be left out but never null; None when left out. Documented without a default.
Omittable = Annotated[T | None, _ValidatedAsInner(), _UNDOCUMENTED_DEFAULT]
#: May be left out or null; None either way (`model_fields_set` tells them apart).
#: Documented without a default.
Nullable = Annotated[T | None, _UNDOCUMENTED_DEFAULT]
