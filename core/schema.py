"""The OpenAPI schema as the contract: our authentication, the problem+json answer of every 4xx each
operation can give, ``Idempotency-Key`` and its format, one component per shape."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter

from core.errors import PROBLEM_CONTENT_TYPE
from core.idempotency import HEADER, VALID_KEY, IdempotentPostMixin


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: Authorization: Bearer <token>",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "core.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


PROBLEM = "Problem"
# The statuses every operation can answer, whatever it does.
_ALWAYS = {
    "401": "No or bad credentials.",
    "403": "Authenticated, but the role or the token's scopes do not allow this.",
    "429": "Too many requests: wait for Retry-After seconds.",
}
_BODY = {
    "400": "Invalid input: `errors` names each field with its messages.",
    "413": "The request body is larger than 10 MiB.",
    "415": "The body is not JSON.",
}
_IDEMPOTENT = {
    "409": "A request with this Idempotency-Key is still running, or the object's state does not allow this.",
    "422": "This Idempotency-Key was used with another body.",
}
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "For invalid input: the messages of each field.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}
IDEMPOTENCY_KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": VALID_KEY.pattern}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's introspection, plus what our views share: ``Idempotency-Key`` on every POST of an
    idempotent view, and a view's ``list`` that answers one object (``single_object_list``)."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST" and isinstance(self.view, IdempotentPostMixin):
            named = {getattr(p, "name", None) for p in parameters}
            if HEADER not in named:
                parameters.append(
                    OpenApiParameter(
                        HEADER,
                        str,
                        OpenApiParameter.HEADER,
                        description="1 to 255 visible ASCII characters: a retry within 24 hours with the "
                        "same key and body returns the first answer without new effects.",
                    )
                )
        return parameters

    def _is_list_view(self, serializer: Any = None) -> bool:
        if getattr(self.view, "single_object_list", False) and getattr(self.view, "action", None) == "list":
            return False
        return bool(super()._is_list_view(serializer))


def _strip_titles(schema: Any) -> None:
    """Drop pydantic's ``title``s: generators name classes after them, and two schemas of one model would
    then collide."""
    if isinstance(schema, dict):
        schema.pop("title", None)
        for value in schema.values():
            if isinstance(value, dict | list):
                _strip_titles(value)
    elif isinstance(schema, list):
        for value in schema:
            _strip_titles(value)


def _rename_refs(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in renames:
                node["$ref"] = f"#/components/schemas/{renames[name]}"
        for value in node.values():
            _rename_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value, renames)


def _merge_duplicates(result: dict[str, Any]) -> None:
    """One component per shape: pydantic's hoisted ``$defs`` (``LeadIn``, ``Seniority``) and drf-spectacular's
    own (``LeadInRequest``, ``SeniorityEnum``) describe the same thing twice."""
    schemas = result.get("components", {}).get("schemas", {})
    by_shape: dict[str, str] = {}
    renames: dict[str, str] = {}
    # Keep the longer name (``SeniorityEnum``, ``LeadInRequest``): it says what the component is.
    for name in sorted(schemas, key=lambda n: (-len(n), n)):
        shape = json.dumps({k: v for k, v in schemas[name].items() if k != "description"}, sort_keys=True)
        if shape in by_shape:
            renames[name] = by_shape[shape]
        else:
            by_shape[shape] = name
    for name in renames:
        del schemas[name]
    _rename_refs(result, renames)


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}},
    }


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    errors = dict(_ALWAYS)
    if operation.get("requestBody") or any(p["in"] in ("query", "header") for p in parameters):
        errors["400"] = _BODY["400"]
    if operation.get("requestBody") or method in ("post", "patch", "put"):
        errors.update(_BODY)
    if "{" in path:
        errors["404"] = "No such object, or one the caller may not see."
    for parameter in parameters:
        if parameter["in"] == "header" and parameter["name"] == HEADER:
            parameter["schema"] = dict(IDEMPOTENCY_KEY_SCHEMA)
            errors.update(_IDEMPOTENT)
    for status, description in errors.items():
        if status not in responses:
            responses[status] = _problem(description)
    for status, response in responses.items():
        if status.startswith("4") and "content" not in response:  # declared by the view, without a body
            response.update(_problem(response.get("description") or ""))
    responses["429"].setdefault(
        "headers",
        {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait."}},
    )


def document_problems(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the problem schema for every 4xx each operation can answer, and one component
    per shape; request bodies refuse unknown fields (every input serializer is strict)."""
    _strip_titles(result.get("components", {}).get("schemas", {}))
    _merge_duplicates(result)
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema.setdefault("additionalProperties", False)
            # A field left out is not its default: an upsert or a change keeps the stored value, so a
            # generated client must not fill it in.
            for field in schema.get("properties", {}).values():
                field.pop("default", None)
    result.setdefault("components", {}).setdefault("schemas", {})[PROBLEM] = _PROBLEM_SCHEMA
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method in ("get", "post", "put", "patch", "delete"):
                _document_errors(path, method, operation)
    return result
