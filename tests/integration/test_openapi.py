"""GET /api/openapi.json (API.md 9): an OpenAPI 3.1 description of every route the app
serves, with the body schemas declared once in shared/contract/bodies.py."""

from __future__ import annotations

import re
import types
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from flask import Blueprint, Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from devstack.api import ADMIN_TOKEN
from shared.contract import bodies
from shared.contract.errors import Invalid
from shared.contract.fields import NO_NUL, SOME_TEXT
from shared.platform.broker import build_broker
from shared.platform.runtime import Runtime, build_runtime
from shared.routines.variables import normalize_definitions
from tests.conftest import settings_for
from web.app import create_app
from web.openapi import NO_BODY

Doc = dict[str, Any]
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@dataclass(frozen=True)
class DeclaredField:
    """What a body model says of one key, read from its annotations, not its schema."""

    required: bool = False
    kind: str = "other"
    choices: tuple[Any, ...] = ()
    nullable: bool = False
    items: DeclaredField | None = None


@dataclass(frozen=True)
class Declared:
    fields: dict[str, DeclaredField]
    strict: bool


def bare(annotation: Any) -> Any:
    """The annotation without Annotated metadata and without None."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
        return bare(annotation)
    return annotation


def declared_field(annotation: Any) -> DeclaredField:
    annotation = bare(annotation)
    if get_origin(annotation) is Literal:
        return DeclaredField(kind="enum", choices=get_args(annotation))
    if get_origin(annotation) is list:
        return DeclaredField(kind="array", items=declared_field(get_args(annotation)[0]))
    return DeclaredField()


def accepts_null(model: type[BaseModel], key: str) -> bool:
    try:
        model.model_validate({key: None})
    except ValidationError as error:
        return all(e["loc"][:1] != (key,) for e in error.errors())
    return True


def declared(model: type[BaseModel]) -> Declared:
    fields = {
        key: replace(
            declared_field(field.annotation),
            required=field.is_required(),
            nullable=accepts_null(model, key),
        )
        for key, field in ((f.alias or n, f) for n, f in model.model_fields.items())
    }
    return Declared(fields, strict=model.model_config.get("extra") == "forbid")


DECLARED = {
    value.__name__: declared(value)
    for value in vars(bodies).values()
    if isinstance(value, type)
    and issubclass(value, bodies.Body)
    and value not in (bodies.Body, bodies.StrictBody)
}


@pytest.fixture(scope="module")
def module_runtime(pg_url: str) -> Iterator[Runtime]:
    settings = settings_for(pg_url)
    built = build_runtime(settings, broker=build_broker(settings))
    yield built
    built.close()


@pytest.fixture(scope="module")
def app(module_runtime: Runtime) -> Flask:
    return create_app(runtime=module_runtime)


@pytest.fixture(scope="module")
def doc(app: Flask) -> Doc:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert isinstance(body, dict)
    return body


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def openapi_path(rule: str) -> str:
    """`/api/routines/<routine_id>` -> `/api/routines/{routineId}` (converters dropped)."""
    return re.sub(r"<(?:[^:<>]+:)?([^:<>]+)>", lambda m: "{" + camel(m.group(1)) + "}", rule)


def served_operations(app: Flask) -> dict[tuple[str, str], str]:
    """(OpenAPI path, method) -> Flask endpoint, for every rule under /api."""
    served = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            served[(openapi_path(rule.rule), method.lower())] = rule.endpoint
    return served


def documented_operations(doc: Doc) -> dict[tuple[str, str], Doc]:
    return {
        (path, method): operation
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def undocumented(app: Flask, doc: Doc) -> list[tuple[str, str]]:
    return sorted(set(served_operations(app)) - set(documented_operations(doc)))


def writes_without_body(app: Flask, doc: Doc) -> list[str]:
    """POST/PATCH endpoints that neither document a body nor are declared bodiless."""
    documented = documented_operations(doc)
    return sorted(
        endpoint
        for key, endpoint in served_operations(app).items()
        if key[1] in ("post", "patch")
        and "requestBody" not in documented.get(key, {})
        and endpoint not in NO_BODY
    )


def resolve(doc: Doc, node: Doc) -> Doc:
    while "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def body_schema(doc: Doc, operation: Doc) -> Doc:
    return resolve(doc, operation["requestBody"]["content"]["application/json"]["schema"])


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


# The document as a whole


def test_the_document_is_served_without_credentials_as_openapi_3_1(app: Flask) -> None:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    body = response.get_json()
    assert re.fullmatch(r"3\.1\.\d+", body["openapi"])
    assert isinstance(body["info"]["title"], str)
    assert body["info"]["title"]
    assert isinstance(body["info"]["version"], str)


def test_the_document_declares_bearer_security_for_everything_by_default(doc: Doc) -> None:
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]


def test_every_api_rule_and_method_of_the_app_is_documented(app: Flask, doc: Doc) -> None:
    assert undocumented(app, doc) == []


def test_nothing_is_documented_that_the_app_does_not_serve(app: Flask, doc: Doc) -> None:
    assert sorted(set(documented_operations(doc)) - set(served_operations(app))) == []


def test_paths_use_camel_case_placeholders_never_flask_syntax(doc: Doc) -> None:
    for path in doc["paths"]:
        assert path.startswith("/api")
        assert "<" not in path
        assert ">" not in path
        for name in re.findall(r"\{([^}]*)\}", path):
            assert re.fullmatch(r"[a-z][A-Za-z0-9]*", name), (path, name)


def test_every_operation_names_its_path_parameters_as_required_strings(doc: Doc) -> None:
    for (path, method), operation in documented_operations(doc).items():
        in_path = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        assert sorted(p["name"] for p in in_path) == sorted(re.findall(r"\{([^}]*)\}", path)), (
            method,
            path,
        )
        for parameter in in_path:
            assert parameter["required"] is True
            assert parameter["schema"] == {"type": "string"}


def test_operation_ids_are_unique(doc: Doc) -> None:
    ids = [operation["operationId"] for operation in documented_operations(doc).values()]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(ids) == len(set(ids))


def test_every_operation_documents_one_success_and_the_error_shape(doc: Doc) -> None:
    for key, operation in documented_operations(doc).items():
        responses = operation["responses"]
        assert all(re.fullmatch(r"[1-5]\d\d", code) for code in responses), key
        assert all(isinstance(r["description"], str) for r in responses.values()), key
        assert len([code for code in responses if code.startswith("2")]) == 1, key
        for code in ("400", "401", "404"):
            schema = responses[code]["content"]["application/json"]["schema"]
            assert resolve(doc, schema)["required"] == ["error"], key


def test_every_reference_in_the_document_resolves(doc: Doc) -> None:
    found = list(refs(doc))
    assert found
    for ref in found:
        assert isinstance(resolve(doc, {"$ref": ref}), dict), ref


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/companies/{companyId}/routines", "post", "201"),
        ("/api/routines/{routineId}/triggers", "post", "201"),
        ("/api/routines/{routineId}/run", "post", "202"),
        ("/api/routine-triggers/public/{publicId}/fire", "post", "202"),
        ("/api/routine-triggers/{triggerId}", "delete", "204"),
        ("/api/routine-triggers/{triggerId}", "patch", "200"),
        ("/api/routines/{routineId}", "get", "200"),
        ("/api/routine-triggers/{triggerId}/next-runs", "get", "200"),
        ("/api/cron/preview", "post", "200"),
        ("/api/routine-triggers/{triggerId}/backfill", "post", "202"),
    ],
)
def test_success_statuses_are_the_contracts(doc: Doc, path: str, method: str, status: str) -> None:
    responses = doc["paths"][path][method]["responses"]
    assert [code for code in responses if code.startswith("2")] == [status]


# Paged lists

PAGED_LISTS = {
    "/api/companies": [],
    "/api/companies/{companyId}/members": [],
    "/api/companies/{companyId}/agents": [],
    "/api/companies/{companyId}/projects": [],
    "/api/companies/{companyId}/goals": [],
    "/api/companies/{companyId}/issues": ["status", "originKind", "originId", "assigneeAgentId"],
    "/api/companies/{companyId}/routines": ["projectId"],
}


def query_parameters(operation: Doc) -> dict[str, Doc]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}


def test_exactly_the_company_lists_document_a_cursor(doc: Doc) -> None:
    paged = {
        path
        for (path, method), operation in documented_operations(doc).items()
        if "cursor" in query_parameters(operation)
    }
    assert paged == set(PAGED_LISTS)


@pytest.mark.parametrize(("path", "filters"), PAGED_LISTS.items())
def test_a_paged_list_documents_its_filters_limit_cursor_and_link_header(
    doc: Doc, path: str, filters: list[str]
) -> None:
    operation = doc["paths"][path]["get"]
    parameters = query_parameters(operation)
    assert list(parameters) == [*filters, "limit", "cursor"]
    assert all(p["required"] is False and p["description"] for p in parameters.values())
    assert parameters["limit"]["schema"] == {"type": "integer", "default": 50}
    assert "1..200" in parameters["limit"]["description"]
    assert parameters["cursor"]["schema"] == {"type": "string"}
    success = operation["responses"]["200"]
    assert success["content"]["application/json"]["schema"]["type"] == "array"
    assert success["headers"]["Link"]["schema"] == {"type": "string"}
    assert 'rel="next"' in success["headers"]["Link"]["description"]


def test_next_runs_documents_its_count(doc: Doc) -> None:
    operation = doc["paths"]["/api/routine-triggers/{triggerId}/next-runs"]["get"]
    count = query_parameters(operation)["count"]
    assert count["required"] is False
    assert count["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}


# Security as documented is security as served


def test_only_the_public_fire_and_the_probes_are_documented_without_credentials(doc: Doc) -> None:
    public = sorted(
        key
        for key, operation in documented_operations(doc).items()
        if operation.get("security") == []
    )
    assert public == [
        ("/api/health", "get"),
        ("/api/health/live", "get"),
        ("/api/openapi.json", "get"),
        ("/api/routine-triggers/public/{publicId}/fire", "post"),
    ]


def test_every_secured_operation_answers_401_without_credentials(app: Flask, doc: Doc) -> None:
    client = app.test_client()
    for (path, method), operation in documented_operations(doc).items():
        if operation.get("security") == []:
            continue
        url = re.sub(r"\{[^}]*\}", lambda _m: str(uuid.uuid4()), path)
        response = client.open(url, method=method.upper(), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.get_json() == {"error": "Unauthorized"}


# Request bodies


def test_every_post_and_patch_documents_a_body_unless_declared_bodiless(
    app: Flask, doc: Doc
) -> None:
    assert writes_without_body(app, doc) == []


def test_bodiless_endpoints_are_real_post_endpoints(app: Flask) -> None:
    posts = {e for (_, method), e in served_operations(app).items() if method == "post"}
    assert posts >= NO_BODY


def test_request_bodies_are_json_and_refer_to_declared_schemas(doc: Doc) -> None:
    for key, operation in documented_operations(doc).items():
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]
        assert list(content) == ["application/json"], key
        assert body_schema(doc, operation)["type"] == "object", key


def test_every_declared_body_schema_is_in_the_components(doc: Doc) -> None:
    assert set(DECLARED) <= set(doc["components"]["schemas"])


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_body_schemas_required_list_equals_its_declaration(doc: Doc, name: str) -> None:
    declared = DECLARED[name]
    documented = doc["components"]["schemas"][name]
    expected = [field for field, spec in declared.fields.items() if spec.required]
    assert documented.get("required", []) == expected
    assert list(documented["properties"]) == list(declared.fields)
    assert documented["additionalProperties"] is (not declared.strict)


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_a_body_schemas_enum_lists_equal_its_declaration(doc: Doc, name: str) -> None:
    for field, spec in DECLARED[name].fields.items():
        prop = doc["components"]["schemas"][name]["properties"][field]
        if spec.kind == "enum":
            assert [v for v in prop["enum"] if v is not None] == list(spec.choices), field
            assert (None in prop["enum"]) is spec.nullable, field
        else:
            assert "enum" not in prop, field
        if spec.items is not None and spec.items.kind == "enum":
            assert prop["items"]["enum"] == list(spec.items.choices), field


def test_the_run_body_is_strict_and_the_routine_body_lenient(doc: Doc) -> None:
    run = body_schema(doc, doc["paths"]["/api/routines/{routineId}/run"]["post"])
    routine = body_schema(doc, doc["paths"]["/api/companies/{companyId}/routines"]["post"])
    assert run["additionalProperties"] is False
    assert routine["additionalProperties"] is True
    assert routine["required"] == ["title"]
    assert routine["properties"]["title"]["maxLength"] == 200


def test_the_rotate_body_is_optional_and_documents_the_grace_bounds(doc: Doc) -> None:
    operation = doc["paths"]["/api/routine-triggers/{triggerId}/rotate-secret"]["post"]
    assert operation["requestBody"]["required"] is False
    grace = body_schema(doc, operation)["properties"]["graceSeconds"]
    assert (grace["minimum"], grace["maximum"], grace["default"]) == (0, 86400, 0)


def test_the_signing_modes_include_standard_webhooks(doc: Doc) -> None:
    trigger = body_schema(doc, doc["paths"]["/api/routines/{routineId}/triggers"]["post"])
    assert "standard_webhooks" in trigger["properties"]["signingMode"]["enum"]


def test_the_trigger_body_documents_the_replay_window_bounds(doc: Doc) -> None:
    trigger = body_schema(doc, doc["paths"]["/api/routines/{routineId}/triggers"]["post"])
    window = trigger["properties"]["replayWindowSec"]
    assert (window["minimum"], window["maximum"], window["default"]) == (30, 86400, 300)
    assert trigger["properties"]["signingMode"]["default"] == "bearer"
    assert trigger["properties"]["label"]["maxLength"] == 120
    assert trigger["required"] == ["kind"]


def test_patch_bodies_document_no_required_fields_and_no_defaults(doc: Doc) -> None:
    """PATCH is partial (absent means unchanged): a required field or a create default in
    the document would make generated clients overwrite data."""
    wrong = {}
    for (path, method), operation in documented_operations(doc).items():
        if method != "patch":
            continue
        schema = body_schema(doc, operation)
        defaults = sorted(n for n, p in schema["properties"].items() if "default" in p)
        if schema.get("required") or defaults:
            wrong[path] = {"required": schema.get("required"), "defaults": defaults}
    assert wrong == {}


# The generator follows the URL map


def extended_app(runtime: Runtime) -> Flask:
    """A throwaway app with one route more than the real one."""
    app = create_app(runtime=runtime)
    extra = Blueprint("extra", __name__, url_prefix="/api")

    @extra.post("/gadgets/<gadget_id>/polish_all")
    def polish(gadget_id: str) -> Any:
        return {"id": gadget_id}

    app.register_blueprint(extra)
    return app


def test_a_route_missing_from_the_document_fails_the_coverage_check(
    module_runtime: Runtime, doc: Doc
) -> None:
    app = extended_app(module_runtime)
    assert undocumented(app, doc) == [("/api/gadgets/{gadgetId}/polish_all", "post")]


def test_a_route_added_to_the_app_is_picked_up_by_the_generator(module_runtime: Runtime) -> None:
    app = extended_app(module_runtime)
    served = app.test_client().get("/api/openapi.json").get_json()
    assert undocumented(app, served) == []
    operation = served["paths"]["/api/gadgets/{gadgetId}/polish_all"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["gadgetId"]
    assert writes_without_body(app, served) == ["extra.polish"], "an undeclared body is caught"


# Every constraint the validation enforces, stated; a document others' tools accept


def test_the_served_document_passes_openapi_spec_validator(doc: Doc) -> None:
    validate(doc)  # raises on the first problem


def request_schemas(doc: Doc) -> Doc:
    return {n: s for n, s in doc["components"]["schemas"].items() if n not in ("Error", "Problem")}


def string_schemas(node: Any) -> Iterator[Doc]:
    """Every schema under `node` that admits a string."""
    if isinstance(node, dict):
        kinds = node.get("type")
        if kinds == "string" or (isinstance(kinds, list) and "string" in kinds):
            yield node
        for value in node.values():
            yield from string_schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from string_schemas(item)


def test_every_request_string_declares_a_pattern_that_refuses_nul(doc: Doc) -> None:
    """Free text, that is: a format (uuid, date-time) or an enum admits no NUL already."""
    found = [
        schema
        for schema in string_schemas(request_schemas(doc))
        if "format" not in schema and "enum" not in schema
    ]
    assert len(found) > 40
    for schema in found:
        assert "pattern" in schema, schema
        assert not re.search(schema["pattern"], "a\x00b"), schema


def test_json_objects_in_bodies_refuse_nul_in_keys_and_nested_values(doc: Doc) -> None:
    payload = request_schemas(doc)["RunCreate"]["properties"]["payload"]
    assert payload["propertyNames"] == {"pattern": NO_NUL}
    assert payload["additionalProperties"] == {"$ref": "#/components/schemas/JsonValue"}
    check = json_schema_validator(doc, "JsonValue")
    assert check.is_valid({"a": ["b", {"c": 1.5, "d": None}]})
    assert not check.is_valid({"a": ["b", {"c": "x\x00"}]})
    assert not check.is_valid({"a": {"k\x00": 1}})


def test_a_lenient_body_documents_that_undeclared_keys_hold_no_nul_either(doc: Doc) -> None:
    check = json_schema_validator(doc, "BoardUserCreate")
    assert check.is_valid({"name": "Ann", "extra": {"nested": ["ok"]}})
    assert not check.is_valid({"name": "Ann", "extra": {"nested": ["not\x00ok"]}})
    assert not check.is_valid({"name": "Ann", "ex\x00tra": 1})


ECMA_SPACE = r"\t\n\u000b\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def test_a_nonblank_pattern_admits_no_string_that_trimming_empties() -> None:
    """Read with Python's `\\s` and with ECMA-262's: either way, a string the pattern
    admits keeps a character after `str.strip`, so `minLength: 1` holds once trimmed."""
    as_ecma = re.compile(SOME_TEXT.replace(r"\s", ECMA_SPACE))
    as_python = re.compile(SOME_TEXT)
    for point in (*range(0xD800), *range(0xE000, 0x110000)):
        char = chr(point)
        if as_ecma.fullmatch(char) or as_python.fullmatch(char):
            assert char.strip(), hex(point)
    assert not as_ecma.fullmatch(" \t ")
    assert as_ecma.fullmatch(" Weekly ")


def test_titles_document_that_blank_is_refused(doc: Doc) -> None:
    title = request_schemas(doc)["RoutineCreate"]["properties"]["title"]
    assert (title["minLength"], title["pattern"]) == (1, SOME_TEXT)


def test_the_issue_prefix_documents_that_it_needs_a_letter_or_digit(doc: Doc) -> None:
    prefix = request_schemas(doc)["CompanyCreate"]["properties"]["issuePrefix"]
    assert (prefix["minLength"], prefix["maxLength"]) == (1, 10)
    assert [bool(re.search(prefix["pattern"], s)) for s in ("--", " ", "a-", " 7 ")] == [
        False,
        False,
        True,
        True,
    ]


def test_a_schedule_trigger_documents_that_it_needs_a_cron_expression(doc: Doc) -> None:
    check = json_schema_validator(doc, "TriggerCreate")
    assert not check.is_valid({"kind": "schedule"})
    assert check.is_valid({"kind": "schedule", "cronExpression": "0 9 * * *"})
    assert check.is_valid({"kind": "api"})


def test_run_variables_document_scalar_values(doc: Doc) -> None:
    variables = request_schemas(doc)["RunCreate"]["properties"]["variables"]
    assert variables["type"] == ["object", "null"]
    assert variables["additionalProperties"]["type"] == ["string", "number", "boolean", "null"]


def json_schema_validator(doc: Doc, name: str) -> Draft202012Validator:
    """A validator of one component schema, its references resolved in the document."""
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def service_accepts_definition(item: Doc) -> bool:
    try:
        normalize_definitions([item], title=None, description=None)
    except Invalid:
        return False
    return True


DEFINITIONS = [
    {"name": "a"},
    {"name": "t", "label": None, "required": False, "defaultValue": 3},
    {"name": "n", "type": "number", "defaultValue": "1.5"},
    {"name": "n", "type": "number", "defaultValue": -2},
    {"name": "n", "type": "number", "defaultValue": " "},
    {"name": "b", "type": "boolean", "defaultValue": "yes"},
    {"name": "b", "type": "boolean", "defaultValue": 0},
    {"name": "d", "type": "date", "defaultValue": "2026-01-02"},
    {"name": "s", "type": "select", "options": ["x", "y"], "defaultValue": "x"},
    {"name": "o", "options": "ignored unless a select"},
    {"name": "1a"},
    {"type": "text"},
    {"name": "a", "type": "color"},
    {"name": "a", "required": "yes"},
    {"name": "a", "label": 3},
    {"name": "t", "defaultValue": [1]},
    {"name": "n", "type": "number", "defaultValue": "ten"},
    {"name": "n", "type": "number", "defaultValue": True},
    {"name": "b", "type": "boolean", "defaultValue": "maybe"},
    {"name": "d", "type": "date", "defaultValue": "tomorrow"},
    {"name": "s", "type": "select", "options": [], "defaultValue": "x"},
    {"name": "s", "type": "select", "options": ["x"]},
    {"name": "s", "type": "select", "options": [1], "defaultValue": 1},
]


@pytest.mark.parametrize("item", DEFINITIONS)
def test_the_variable_definition_schema_agrees_with_the_service(doc: Doc, item: Doc) -> None:
    check = json_schema_validator(doc, "VariableDefinition")
    assert check.is_valid(item) is service_accepts_definition(item)


def test_every_error_status_documents_the_one_error_shape(doc: Doc) -> None:
    problem = doc["components"]["schemas"]["Problem"]
    assert problem["required"] == ["path", "message"]
    for key, operation in documented_operations(doc).items():
        for code, response in operation["responses"].items():
            if code[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert resolve(doc, schema)["required"] == ["error"], (key, code)


def test_every_429_and_503_documents_retry_after(doc: Doc) -> None:
    statuses = set()
    for key, operation in documented_operations(doc).items():
        for code, response in operation["responses"].items():
            if code in ("429", "503"):
                statuses.add(code)
                assert response["headers"]["Retry-After"]["schema"]["type"] == "integer", key
    assert statuses == {"429", "503"}
    fire = doc["paths"]["/api/routine-triggers/public/{publicId}/fire"]["post"]
    assert "429" in fire["responses"]


def test_every_operation_declares_its_security(doc: Doc) -> None:
    for key, operation in documented_operations(doc).items():
        assert operation["security"] in ([], [{"bearer": []}]), key


# Links: from what an operation creates to the operations that use it


def operations_by_id(doc: Doc) -> dict[str, tuple[str, str]]:
    return {op["operationId"]: key for key, op in documented_operations(doc).items()}


def pointer_schema(doc: Doc, schema: Doc, pointer: str) -> Doc | None:
    """The schema of the required field `pointer` (`/a/b`) names, or None."""
    for part in pointer.lstrip("/").split("/"):
        schema = resolve(doc, schema)
        if part not in schema.get("required", []):
            return None
        schema = schema["properties"][part]
    return schema


def success_of(operation: Doc) -> Doc:
    (code,) = [code for code in operation["responses"] if code.startswith("2")]
    return operation["responses"][code]  # type: ignore[no-any-return]


def declared_links(doc: Doc) -> Iterator[tuple[tuple[str, str], str, Doc, Doc]]:
    for key, operation in documented_operations(doc).items():
        success = success_of(operation)
        for name, link in success.get("links", {}).items():
            yield key, name, link, success


def test_every_link_names_an_operation_and_exactly_its_path_parameters(doc: Doc) -> None:
    by_id = operations_by_id(doc)
    found = list(declared_links(doc))
    assert len(found) > 30
    for key, name, link, _success in found:
        assert link["operationId"] in by_id, (key, name)
        target_path, _method = by_id[link["operationId"]]
        assert sorted(link["parameters"]) == sorted(re.findall(r"\{([^}]*)\}", target_path))


def test_every_link_expression_names_a_field_of_the_response_schema(doc: Doc) -> None:
    for key, name, link, success in declared_links(doc):
        schema = success["content"]["application/json"]["schema"]
        for expression in link["parameters"].values():
            assert expression.startswith("$response.body#/"), (key, name)
            field = pointer_schema(doc, schema, expression.removeprefix("$response.body#"))
            assert field is not None, (key, name, expression)
            assert "string" in field["type"], (key, name, expression)


@pytest.mark.parametrize(
    ("source", "targets"),
    [
        ("companies_create", {"agents_create", "projects_create", "routines_create"}),
        ("routines_create", {"routines_add_trigger", "runs_index", "runs_fire"}),
        ("routines_add_trigger", {"triggers_update", "triggers_delete", "triggers_rotate"}),
        ("runs_fire", {"runs_show"}),
        ("projects_create_company_goal", {"projects_show_goal"}),
        ("issues_create", {"issues_show", "issues_update"}),
        ("agents_create_agent_key", {"agents_revoke_agent_key"}),
    ],
)
def test_creating_operations_link_to_what_uses_their_ids(
    doc: Doc, source: str, targets: set[str]
) -> None:
    path, method = operations_by_id(doc)[source]
    linked = {
        link["operationId"] for link in success_of(doc["paths"][path][method])["links"].values()
    }
    assert linked >= targets


def followed(doc: Doc, source: str, body: Doc) -> dict[str, tuple[str, str]]:
    """Each link of `source` as (METHOD, url), its parameters read from `body`."""
    path, method = operations_by_id(doc)[source]
    out = {}
    for name, link in success_of(doc["paths"][path][method])["links"].items():
        target, target_method = operations_by_id(doc)[link["operationId"]]
        for parameter, expression in link["parameters"].items():
            value: Any = body
            for part in expression.removeprefix("$response.body#/").split("/"):
                value = value[part]
            target = target.replace("{" + parameter + "}", str(value))
        out[name] = (target_method.upper(), target)
    return out


def test_following_the_links_walks_a_real_sequence(app: Flask, doc: Doc) -> None:
    """Company, agent and its key, goal, issue, routine, webhook trigger, a fire and a
    manual run, each reached through the previous response's links; every GET a link
    leads to answers 200."""
    client = app.test_client()
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def step(source: str, link: str, body: Doc, payload: Doc, status: int) -> Doc:
        method, url = followed(doc, source, body)[link]
        response = client.open(url, method=method, json=payload, headers=admin)
        assert response.status_code == status, (link, response.get_json())
        return response.get_json() if status != 204 else {}  # type: ignore[no-any-return]

    def reads(source: str, body: Doc) -> None:
        for name, (method, url) in followed(doc, source, body).items():
            if method == "GET" and name != "PreviewTriggerFireTimes":  # schedules only
                assert client.get(url, headers=admin).status_code == 200, (source, name)

    company = client.post("/api/companies", json={"name": "Linked"}, headers=admin).get_json()
    reads("companies_create", company)
    agent = step("companies_create", "CreateAgent", company, {"name": "Linker"}, 201)
    reads("agents_create", agent)
    key = step("agents_create", "CreateAgentKey", agent, {"name": "Linked"}, 201)
    step("agents_create_agent_key", "RevokeAgentKey", key, {}, 204)
    goal = step("companies_create", "CreateGoal", company, {"title": "Linked"}, 201)
    reads("projects_create_company_goal", goal)
    issue = step("companies_create", "CreateIssue", company, {"title": "Linked"}, 201)
    reads("issues_create", issue)
    planned = {"title": "Linked", "assigneeAgentId": agent["id"]}
    routine = step("companies_create", "CreateRoutine", company, planned, 201)
    reads("routines_create", routine)
    hook = {"kind": "webhook", "signingMode": "none"}
    trigger = step("routines_create", "AddTrigger", routine, hook, 201)
    reads("routines_add_trigger", trigger)
    fired = step("routines_add_trigger", "FireWebhook", trigger, {}, 202)
    reads("triggers_fire_public", fired)
    run = step("routines_create", "RunRoutine", routine, {}, 202)
    reads("runs_fire", run)
    assert step("runs_fire", "GetRun", run, {}, 200)["id"] == run["id"]


def test_a_body_is_required_exactly_when_it_has_a_required_key(app: Flask, doc: Doc) -> None:
    """An empty body is read as `{}`, so a body whose keys may all be left out may be too."""
    for key, operation in documented_operations(doc).items():
        if "requestBody" in operation and key[0] != "/api/routine-triggers/public/{publicId}/fire":
            schema = body_schema(doc, operation)
            assert operation["requestBody"]["required"] is bool(schema.get("required")), key
    patch = doc["paths"]["/api/routines/{routineId}"]["patch"]
    assert patch["requestBody"]["required"] is False
