"""The OpenAPI 3.1 document of /api/v1/, derived from the code rather than written by hand.

apispec assembles the document. Its parts come from what serves the requests:
the paths and path parameters from the URL configuration (namespace "api"), the
query parameters from the Django forms that validate them, the response schemas
from the msgspec Structs that `api_view` encodes (msgspec generates their JSON
Schema), and the errors from what `api_view` answers. An endpoint added to
urls.py with `api_view` is in the document without another line.
"""

from __future__ import annotations

import re
from functools import cache

import msgspec
from apispec import APISpec
from django import forms
from django.conf import settings
from django.urls import URLPattern, get_resolver
from django.urls.converters import UUIDConverter

from cvrtracker.api import schemas
from cvrtracker.api.decorators import Operation
from cvrtracker.api.forms import ASIN

SECURITY = [{"bearer": []}]
ERROR = {"$ref": "#/components/schemas/Error"}
PATH_PARAMETERS = {
    "code": "The seller account's `code`, as GET /connections lists it.",
    "asin": "A child ASIN: ten capital letters or digits.",
}
PATH_PATTERNS = {"asin": ASIN.pattern}
ERRORS = {
    400: "A parameter is malformed: `fields` names each one with its message.",
    401: "No API key, or a key that is unknown or revoked (see WWW-Authenticate).",
    403: "The team's plan does not include the API (`upgrade_url` leads to the plans).",
    404: "No seller account with this code in the key's team.",
    429: "The key's rate limit is spent: retry after Retry-After seconds.",
}
DESCRIPTION = """A read-only JSON API over a team's Amazon seller accounts.

Authenticate every request with `Authorization: Bearer <key>` (Settings → API).
Days are `YYYY-MM-DD`, ranges inclusive. Units: `conversion_rate` is a fraction
(units ÷ sessions, 0.05 meaning 5%); `unit_session_percentage` and
`buy_box_percentage` are percentages (5.0 meaning 5%); money is a decimal string
in the currency's major unit. Traffic of a pending day is null, never 0.
"""


def _field_schema(field: forms.Field) -> dict:
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    if isinstance(field, forms.IntegerField):
        schema: dict = {"type": "integer"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
        return schema
    if isinstance(field, forms.ChoiceField):
        return {"type": "string", "enum": [value for value, _ in field.choices if value]}
    schema = {"type": "string"}
    if getattr(field, "max_length", None):
        schema["maxLength"] = field.max_length
    return schema


def _query_parameters(form_class: type[forms.Form]) -> list[dict]:
    help_texts = getattr(form_class, "parameter_help", {})
    patterns = getattr(form_class, "parameter_patterns", {})
    parameters = []
    for name, field in form_class.base_fields.items():
        schema = _field_schema(field)
        if name in patterns:
            schema["pattern"] = patterns[name]
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": field.required,
                "description": str(field.help_text or help_texts.get(name, "")),
                "schema": schema,
            }
        )
    return parameters


def _path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _path_parameters(pattern: URLPattern) -> list[dict]:
    parameters = []
    for name, converter in pattern.pattern.converters.items():
        schema: dict = {"type": "string"}
        if isinstance(converter, UUIDConverter):
            schema["format"] = "uuid"
        if name in PATH_PATTERNS:
            schema["pattern"] = PATH_PATTERNS[name]
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": PATH_PARAMETERS.get(name, ""),
                "schema": schema,
            }
        )
    return parameters


def _responses(operation: Operation, *, has_path_parameters: bool) -> dict:
    answer = {"$ref": f"#/components/schemas/{operation.answer.__name__}"}
    statuses = [401, 403, 429]
    if operation.query is not None or has_path_parameters:
        statuses.append(400)
    if has_path_parameters:
        statuses.append(404)
    responses: dict = {
        "200": {"description": "OK", "content": {"application/json": {"schema": answer}}}
    }
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERRORS[status],
            "content": {"application/json": {"schema": ERROR}},
        }
    responses["401"]["headers"] = {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge."}
    }
    responses["429"]["headers"] = {
        "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds."}
    }
    return responses


def _endpoints() -> list[tuple[str, URLPattern, Operation]]:
    """(route prefix, pattern, operation) of every API endpoint in the URL configuration."""
    prefix, resolver = get_resolver().namespace_dict["api"]
    return [
        (prefix, pattern, pattern.callback.operation)
        for pattern in resolver.url_patterns
        if isinstance(pattern, URLPattern) and hasattr(pattern.callback, "operation")
    ]


@cache
def openapi_spec() -> dict:
    """The document as a dict (computed once: it depends on the code only)."""
    spec = APISpec(
        title="CVR Tracker API",
        version="1",
        openapi_version="3.1.0",
        info={"description": DESCRIPTION},
        servers=[{"url": f"{settings.SITE_ROOT}/{_endpoints()[0][0].rstrip('/')}"}],
        security=SECURITY,
    )
    spec.components.security_scheme(
        "bearer",
        {"type": "http", "scheme": "bearer", "description": "An API key from Settings → API."},
    )
    endpoints = _endpoints()
    answers = [operation.answer for _, _, operation in endpoints]
    _, components = msgspec.json.schema_components(
        [*answers, schemas.Error], ref_template="#/components/schemas/{name}"
    )
    for name, component in sorted(components.items()):
        spec.components.schema(name, component)
    for _, pattern, operation in endpoints:
        path_parameters = _path_parameters(pattern)
        parameters = path_parameters + (
            _query_parameters(operation.query) if operation.query else []
        )
        spec.path(
            path=_path(str(pattern.pattern)),
            operations={
                "get": {
                    "operationId": pattern.name,
                    "summary": operation.summary,
                    "description": operation.description,
                    "parameters": parameters,
                    "responses": _responses(operation, has_path_parameters=bool(path_parameters)),
                }
            },
        )
    return spec.to_dict()


def openapi_document() -> bytes:
    return msgspec.json.encode(openapi_spec())
