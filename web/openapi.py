"""OpenAPI 3.1, generated from the live URL map and the body schemas of shared/,
so the document cannot drift from the routes the app actually serves."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from shared.contract import bodies as b
from shared.contract import queries as q
from shared.contract.fields import NO_NUL, JsonValue
from shared.contract.wire import camel
from web.openapi_links import RESPONSES, links

#: Request body model of each endpoint that takes one.
BODIES: dict[str, type[BaseModel]] = {
    "companies.create": b.CompanyCreate,
    "companies.create_user": b.BoardUserCreate,
    "companies.add_membership": b.MemberCreate,
    "agents.create": b.AgentCreate,
    "agents.update": b.AgentPatch,
    "agents.create_agent_key": b.AgentKeyCreate,
    "projects.create": b.ProjectCreate,
    "projects.update": b.ProjectPatch,
    "projects.pause": b.ProjectPause,
    "projects.create_company_goal": b.GoalCreate,
    "issues.create": b.IssueCreate,
    "issues.update": b.IssuePatch,
    "routines.create": b.RoutineCreate,
    "routines.update": b.RoutinePatch,
    "routines.add_trigger": b.TriggerCreate,
    "triggers.update": b.TriggerPatch,
    "triggers.rotate": b.SecretRotate,
    "runs.fire": b.RunCreate,
    "schedules.preview": b.CronPreview,
    "schedules.backfill": b.Backfill,
}
_REF = "#/components/schemas/{model}"
#: Endpoints whose POST carries no schema'd body (or any JSON object, for webhooks).
NO_BODY = {
    "projects.resume",
    "triggers.fire_public",
    "runs.replay",
}
#: Success status per endpoint where it is not 200.
STATUS = {
    "companies.create": "201",
    "companies.create_user": "201",
    "companies.add_membership": "201",
    "agents.create": "201",
    "agents.create_agent_key": "201",
    "agents.revoke_agent_key": "204",
    "projects.create": "201",
    "projects.create_company_goal": "201",
    "issues.create": "201",
    "routines.create": "201",
    "routines.add_trigger": "201",
    "triggers.delete": "204",
    "runs.fire": "202",
    "runs.replay": "202",
    "triggers.fire_public": "202",
    "schedules.backfill": "202",
}
PUBLIC = {"triggers.fire_public", "health.ready", "health.live", "health.openapi_document"}
#: Lists served in keyset pages (`limit`, `cursor`, a `Link` header), with their filters.
PAGED: dict[str, tuple[str, ...]] = {
    "companies.index": (),
    "companies.members": (),
    "agents.index": (),
    "projects.index": (),
    "projects.goals": (),
    "issues.index": ("status", "originKind", "originId", "assigneeAgentId"),
    "routines.index": ("projectId",),
}
#: Lists whose query is a model (checked: a bad value is a 400), paged by the query
#: parameter named here, which the `Link` header's next URL sets.
QUERIES: dict[str, tuple[type[BaseModel], str]] = {
    "activity.index": (q.ActivityQuery, "before"),
}
_FILTERS = {
    "status": "Comma-separated issue statuses; unknown ones match nothing.",
    "originKind": "Only issues of this origin kind, e.g. `routine_execution`.",
    "originId": "Only issues of this origin (a routine id); a malformed id matches nothing.",
    "assigneeAgentId": "Only issues assigned to this agent; a malformed id matches nothing.",
    "projectId": "Only routines of this project; a malformed id matches nothing.",
}
_PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Page size: clamped to 1..200; a value that is not a whole number is 50.",
        "schema": {"type": "integer", "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Opaque position from the previous page's `Link` header; a malformed "
        "one is 400 `Invalid cursor`, an empty one is no cursor.",
        "schema": {"type": "string"},
    },
]
#: Query parameters of endpoints other than the paged lists.
QUERY: dict[str, list[dict[str, Any]]] = {
    "schedules.next_runs": [
        {
            "name": "count",
            "in": "query",
            "required": False,
            "description": "How many fire times: 1..100; anything else is a 400.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        }
    ],
}
_LINK_TEXT = (
    'RFC 8288 `<url>; rel="next"`: this request\'s URL with its other query '
    "parameters, the next `{position}` and the `limit` used. Absent on the last page."
)
_LINK = {"description": _LINK_TEXT.format(position="cursor"), "schema": {"type": "string"}}
_ERRORS = {
    "400": "Validation error (`details` names each key) or malformed JSON",
    "401": "No or bad credentials",
    "403": "Authenticated but not allowed",
    "404": "Missing, or in another company",
    "409": "State conflict",
    "413": "Body over the limit",
    "415": "Not a JSON content type",
    "422": "Semantically invalid",
    "503": "A dependency is down",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
#: Statuses only some operations answer: a rate limited public fire.
_EXTRA_ERRORS = {"triggers.fire_public": {"429": "Rate limit exceeded (per client, per trigger)"}}
#: The one error shape; `details` only on a 400 `Validation error`.
_ERROR_SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "details": {"type": "array", "items": {"$ref": "#/components/schemas/Problem"}},
        },
    },
    "Problem": {
        "type": "object",
        "required": ["path", "message"],
        "properties": {
            "path": {"type": "array", "items": {"type": ["string", "integer"]}},
            "message": {"type": "string"},
        },
    },
}
#: A webhook body: any JSON object (variables are read from its top-level keys).
_ANY_OBJECT = {
    "type": "object",
    "propertyNames": {"pattern": NO_NUL},
    "additionalProperties": {"$ref": "#/components/schemas/JsonValue"},
}


def document(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api"):
            continue
        path = re.sub(
            r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "{" + camel(m.group(1)) + "}", rule.rule
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, rule.arguments)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Routines API", "version": "1.0.0"},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**body_schemas(BODIES.values()), **_ERROR_SCHEMAS},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _operation(endpoint: str, arguments: Any) -> dict[str, Any]:
    status = STATUS.get(endpoint, "200")
    operation: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "parameters": [
            {"name": camel(name), "in": "path", "required": True, "schema": {"type": "string"}}
            for name in sorted(arguments)
        ],
        "responses": {
            status: {"description": "Success"}
            | ({} if status == "204" else {"content": {"application/json": {"schema": {}}}}),
            **{
                code: _error(code, text)
                for code, text in sorted({**_ERRORS, **_EXTRA_ERRORS.get(endpoint, {})}.items())
            },
        },
        "security": [] if endpoint in PUBLIC else [{"bearer": []}],
    }
    if endpoint in RESPONSES:
        success = operation["responses"][status]
        success["content"]["application/json"]["schema"] = RESPONSES[endpoint]
        success["links"] = links(endpoint)
    if endpoint in PAGED:
        _paged(operation, PAGED[endpoint])
    operation["parameters"] += QUERY.get(endpoint, [])
    if endpoint in QUERIES:
        _queried(operation, *QUERIES[endpoint])
    if endpoint in BODIES:
        model = BODIES[endpoint]
        ref = {"$ref": _REF.format(model=model.__name__)}
        # An empty body is `{}` (web/body.py): a body with no required key may be left out.
        operation["requestBody"] = {
            "required": any(field.is_required() for field in model.model_fields.values()),
            "content": {"application/json": {"schema": ref}},
        }
    elif endpoint == "triggers.fire_public":
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _ANY_OBJECT}},
        }
    return operation


def _error(code: str, text: str) -> dict[str, Any]:
    response = {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
    if code in ("429", "503"):
        response["headers"] = _RETRY_AFTER
    return response


def _paged(operation: dict[str, Any], filters: tuple[str, ...]) -> None:
    """A plain array body (wire compatibility), the page parameters and the Link header."""
    operation["parameters"] += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": _FILTERS[name],
            "schema": {"type": "string"},
        }
        for name in filters
    ] + _PAGE_PARAMETERS
    success = operation["responses"]["200"]
    success["content"]["application/json"]["schema"] = {"type": "array", "items": {}}
    success["headers"] = {"Link": _LINK}


def _queried(operation: dict[str, Any], model: type[BaseModel], position: str) -> None:
    """One query parameter per field of the model, its schema generated like a body's."""
    schema = model.model_json_schema(by_alias=True, schema_generator=_BodySchema)
    operation["parameters"] += [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": field.pop("description", ""),
            "schema": _not_null(field),
        }
        for name, field in schema["properties"].items()
    ]
    success = operation["responses"]["200"]
    success["content"]["application/json"]["schema"] = {"type": "array", "items": {}}
    success["headers"] = {"Link": {**_LINK, "description": _LINK_TEXT.format(position=position)}}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or a string, never null."""
    out = dict(schema)
    if isinstance(out.get("type"), list):
        out["type"] = next(t for t in out["type"] if t != "null")
    if "enum" in out:
        out["enum"] = [choice for choice in out["enum"] if choice is not None]
    return out


def body_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """Each model's schema under its class name, and whatever it refers to beside it."""
    components: dict[str, Any] = _definitions(TypeAdapter(JsonValue))
    for model in models:
        schema = model.model_json_schema(
            by_alias=True, ref_template=_REF, schema_generator=_BodySchema
        )
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = _lenient(schema)
    return components


def _definitions(adapter: TypeAdapter[Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=_REF, schema_generator=_BodySchema)
    return dict(schema.get("$defs", {}))


def _lenient(schema: dict[str, Any]) -> dict[str, Any]:
    """A lenient body ignores keys it does not declare, but the request's JSON parsing
    refuses NUL in them as anywhere: every key and value is a `JsonValue`."""
    if schema.get("additionalProperties") is True:
        schema["propertyNames"] = {"pattern": NO_NUL}
        schema["patternProperties"] = {"^": {"$ref": _REF.format(model="JsonValue")}}
    return schema


class _BodySchema(GenerateJsonSchema):
    """No generated titles, a one-choice Literal listed as an `enum` like the others, and
    a nullable type written `"type": [t, "null"]`, its bounds beside it, not in an anyOf."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        out = super().literal_schema(schema)
        if "const" in out:
            out["enum"] = [out.pop("const")]
        return out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if not isinstance(inner.get("type"), str):
            return super().nullable_schema(schema)
        out = {**inner, "type": [inner["type"], "null"]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
