"""Reading JSON bodies: size, content type and shape errors, never a 500."""

from __future__ import annotations

from typing import Any

from flask import request

from shared.contract import jsontext
from shared.contract.errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from web.context import runtime


def raw_body() -> bytes:
    limit = runtime().settings.body_limit
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge("Request body too large")
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge("Request body too large")
    return data


def json_body(*, allow_empty: bool = True) -> Any:
    """The parsed body; an empty body is `{}` so that bodiless POSTs work."""
    data = raw_body()
    if not data.strip():
        if allow_empty:
            return {}
        raise Invalid("Request body must be a JSON object")
    content_type = request.mimetype or ""
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    return parse_json(data)


def parse_json(data: bytes) -> Any:
    return jsontext.parse(data)


def json_object(*, allow_empty: bool = True) -> dict[str, Any]:
    body = json_body(allow_empty=allow_empty)
    if not isinstance(body, dict):
        raise Invalid("Request body must be a JSON object")
    return body
