"""Routine variables (API.md 3.2): definitions, and the values of one firing.

Values are resolved when the firing is accepted, so a missing or malformed value
is a 422 and nothing is recorded; the worker only renders what was stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Protocol

from shared.contract.errors import Invalid, Unprocessable
from shared.contract.timefmt import iso
from shared.routines.templates import placeholders

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TYPES = ("text", "textarea", "number", "boolean", "select", "date")
BUILTINS = ("date", "timestamp", "scheduledFor")
MAX_OPTIONS = 50
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

Definition = dict[str, Any]

#: A blank value (null, or a string of spaces) is no value; the schema's spaces are ASCII.
_BLANK_SCHEMA = {"anyOf": [{"type": "null"}, {"type": "string", "pattern": "^[ \\t\\n\\r]*$"}]}
#: The defaults `_COERCE` takes, per type, for the document (a number string has at most
#: 15 digits either side and a two-digit exponent there: longer ones may overflow).
_DEFAULTS: dict[str, list[dict[str, Any]]] = {
    "number": [
        {"type": "number"},
        {
            "type": "string",
            "pattern": r"^[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})"
            r"(?:[eE][+-]?[0-9]{1,2})?$",
        },
    ],
    "boolean": [{"type": "boolean"}, {"enum": [*sorted(_TRUE | _FALSE), 0, 1]}],
    "date": [{"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}],
}


def definition_schema() -> dict[str, Any]:
    """The JSON Schema of one definition, as `_definition` checks it. Not expressible, and
    so only said here: a select's default must be one of its options, names are unique."""

    def when(kinds: list[str], then: dict[str, Any]) -> dict[str, Any]:
        """`then` for these kinds; a definition without `type` is a text one."""
        named = {"properties": {"type": {"enum": kinds}}}
        return {"if": named if "text" in kinds else {**named, "required": ["type"]}, "then": then}

    def default_of(kind: str) -> dict[str, Any]:
        return {"properties": {"defaultValue": {"anyOf": [*_DEFAULTS[kind], _BLANK_SCHEMA]}}}

    text = {"type": "string", "pattern": r"^[^\u0000]*$"}
    # Only a select's options are read (another type's are ignored, whatever they are).
    options = {"type": "array", "minItems": 1, "maxItems": MAX_OPTIONS, "items": text}
    return {
        "description": "A routine variable. A select's `defaultValue` must be one of its "
        "`options`; names are unique in a routine; `date`, `timestamp` and `scheduledFor` "
        "are built in (a definition with one of those names is ignored).",
        "properties": {
            "name": {"type": "string", "pattern": NAME.pattern},
            "type": {"enum": list(TYPES), "default": "text"},
            "label": {"type": ["string", "null"], "pattern": text["pattern"]},
            "required": {"type": "boolean", "default": True},
        },
        "required": ["name"],
        "allOf": [
            when(
                ["text", "textarea"],
                {
                    "properties": {
                        "defaultValue": {
                            "type": ["string", "number", "boolean", "null"],
                            "pattern": text["pattern"],
                        }
                    }
                },
            ),
            *(when([kind], default_of(kind)) for kind in _DEFAULTS),
            when(
                ["select"],
                {
                    "required": ["options", "defaultValue"],
                    "properties": {"options": options, "defaultValue": text},
                },
            ),
        ],
    }


#: Stored on a definition made for a placeholder, so that it goes when the placeholder does.
#: Never shown (see `shown`) and never taken from a client: `_definition` keeps known fields.
AUTOMATIC = "automatic"


def normalize_definitions(
    raw: Sequence[Any],
    *,
    title: str | None,
    description: str | None,
    stored: Sequence[Definition] = (),
) -> list[Definition]:
    """Checked definitions, plus one for every placeholder that has none (400 on error).

    An automatic definition sent back unchanged stays automatic, so it goes once its
    placeholder has left the title and description; one the client changed is its own.
    """
    used = placeholders(title, description)
    automatic = {d["name"]: d for d in stored if d.get(AUTOMATIC) is True}
    definitions = [_still_automatic(d, automatic) for d in _checked(raw)]
    known = {d["name"] for d in definitions} | set(BUILTINS)
    kept = [d for d in definitions if not d.get(AUTOMATIC) or d["name"] in used]
    return kept + [_automatic(name) for name in used if name not in known]


def shown(definitions: Sequence[Definition]) -> list[Definition]:
    """Definitions as the API shows them: without the bookkeeping of `AUTOMATIC`."""
    return [{k: v for k, v in d.items() if k != AUTOMATIC} for d in definitions]


def required_without_default(definitions: Sequence[Definition]) -> list[str]:
    return [
        d["name"] for d in definitions if d.get("required", True) and _blank(d.get("defaultValue"))
    ]


def resolve(
    definitions: Sequence[Definition], layers: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Each variable's value from the first layer that has one (highest first), else its
    default; coerced to its type. 422 names every missing or malformed variable."""
    values: dict[str, Any] = {}
    missing: list[str] = []
    for definition in definitions:
        name = definition["name"]
        raw = next(
            (layer[name] for layer in layers if name in layer and not _blank(layer[name])),
            definition.get("defaultValue"),
        )
        if _blank(raw):
            if definition.get("required", True):
                missing.append(name)
            continue
        values[name] = coerce(definition, raw)
    if missing:
        raise Unprocessable(f"Missing routine variables: {', '.join(missing)}")
    return values


def firing_layers(
    *, request: Mapping[str, Any] | None, payload: Any, webhook_body: Any = None
) -> list[Mapping[str, Any]]:
    """The request's variables, payload.variables, the webhook body's top-level keys."""
    layers: list[Mapping[str, Any]] = [request or {}]
    if isinstance(payload, dict) and isinstance(payload.get("variables"), dict):
        layers.append(payload["variables"])
    if isinstance(webhook_body, dict):
        layers.append(webhook_body)
    return layers


def coerce(definition: Definition, raw: Any) -> Any:
    kind = definition.get("type", "text")
    value = _COERCE[kind](raw, definition)
    if value is _BAD:
        raise Unprocessable(f'Variable "{definition["name"]}" must be a {kind}')
    return value


class Firing(Protocol):
    """What rendering reads of a run: a stored `RoutineRun` or a batch's row of one."""

    @property
    def triggered_at(self) -> datetime: ...
    @property
    def scheduled_for(self) -> datetime | None: ...
    @property
    def variables(self) -> dict[str, Any] | None: ...


def builtins(run: Firing) -> dict[str, str]:
    """Never stored: derived from the run when the issue is rendered."""
    fired = run.triggered_at
    return {
        "date": fired.strftime("%Y-%m-%d"),
        "timestamp": iso(fired),
        "scheduledFor": iso(run.scheduled_for or fired),
    }


def render_values(run: Firing) -> dict[str, Any]:
    return {**(run.variables or {}), **builtins(run)}


_BAD: Any = object()
#: Plain ASCII decimal numbers only (float() would also take "1_000" or other digits).
_NUMERIC = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _checked(raw: Sequence[Any]) -> list[Definition]:
    """Every definition checked at once, so one 400 names every problem."""
    problems: list[dict[str, Any]] = []
    definitions: list[Definition] = []
    for index, item in enumerate(raw):
        if isinstance(item, dict) and item.get("name") in BUILTINS:
            continue  # built-ins are computed at each firing, never stored
        definition, problem = _definition(item)
        if problem is not None:
            problems.append({"path": ["variables", index], "message": problem})
        elif any(d["name"] == definition["name"] for d in definitions):
            message = f"Duplicate variable name: {definition['name']}"
            problems.append({"path": ["variables", index, "name"], "message": message})
        else:
            definitions.append(definition)
    if problems:
        raise Invalid("Validation error", details=problems)
    return definitions


def _automatic(name: str) -> Definition:
    kind = "date" if name.endswith("Date") else "text"
    return {"name": name, "label": None, "type": kind, "required": True, AUTOMATIC: True}


def _still_automatic(definition: Definition, automatic: Mapping[str, Definition]) -> Definition:
    """The stored automatic definition if this one means the same, else this one as sent."""
    before = automatic.get(definition["name"])
    if before is not None and _meaning(definition) == _meaning(before):
        return dict(before)
    return definition


def _meaning(definition: Definition) -> Definition:
    """What a definition says: a blank default is no default (a form's empty field)."""
    meant = {k: v for k, v in definition.items() if k != AUTOMATIC}
    if _blank(meant.get("defaultValue")):
        meant.pop("defaultValue", None)
    return meant


def _definition(item: Any) -> tuple[Definition, str | None]:
    if not isinstance(item, dict):
        return {}, "Variable definition must be an object"
    name, kind = item.get("name"), item.get("type", "text")
    if not isinstance(name, str) or not NAME.match(name):
        return {}, "Variable name must match ^[A-Za-z][A-Za-z0-9_]*$"
    if kind not in TYPES:
        return {}, f"Variable type must be one of {', '.join(TYPES)}"
    required = item.get("required", True)
    label = item.get("label")
    if not isinstance(required, bool):
        return {}, "Variable required must be a boolean"
    if label is not None and not isinstance(label, str):
        return {}, "Variable label must be a string"
    definition: Definition = {"name": name, "label": label, "type": kind, "required": required}
    problem = _check_default_and_options(item, definition)
    return definition, problem


def _check_default_and_options(item: dict[str, Any], definition: Definition) -> str | None:
    kind = definition["type"]
    if kind == "select":
        options = item.get("options")
        if (
            not isinstance(options, list)
            or not 1 <= len(options) <= MAX_OPTIONS
            or not all(isinstance(o, str) for o in options)
        ):
            return f"Select variables need 1 to {MAX_OPTIONS} string options"
        definition["options"] = options
        if item.get("defaultValue") not in options:
            return "Select variables need a default among their options"
    if "defaultValue" in item and not _blank(item["defaultValue"]):
        value = _COERCE[kind](item["defaultValue"], definition)
        if value is _BAD:
            return f"Default value must be a valid {kind}"
        definition["defaultValue"] = value
    elif "defaultValue" in item:
        definition["defaultValue"] = item["defaultValue"]
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _text(raw: Any, _definition: Definition) -> Any:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw) if isinstance(raw, str | int | float) else _BAD


def _number(raw: Any, _definition: Definition) -> Any:
    if isinstance(raw, bool):
        return _BAD
    if isinstance(raw, int | float):
        return raw
    if isinstance(raw, str):
        if not _NUMERIC.fullmatch(raw.strip()):
            return _BAD
        number = float(raw.strip())
        if number != number or number in (float("inf"), float("-inf")):
            return _BAD
        return int(number) if number.is_integer() and "." not in raw else number
    return _BAD


def _boolean(raw: Any, _definition: Definition) -> Any:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, str | int) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return _BAD


def _select(raw: Any, definition: Definition) -> Any:
    return raw if isinstance(raw, str) and raw in definition.get("options", ()) else _BAD


def _date(raw: Any, _definition: Definition) -> Any:
    if not isinstance(raw, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
        return _BAD
    try:
        date.fromisoformat(raw)
    except ValueError:
        return _BAD
    return raw


_COERCE = {
    "text": _text,
    "textarea": _text,
    "number": _number,
    "boolean": _boolean,
    "select": _select,
    "date": _date,
}
