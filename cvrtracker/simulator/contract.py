"""Validate SP-API payloads against the official models, strictly.

The models are Swagger 2.0, whose `definitions` are JSON Schema draft 4. Amazon
leaves `additionalProperties` open almost everywhere; we close it on every
object that lists its properties, so a field the model does not have fails
validation. Objects the model declares open on purpose (listing and catalog
`attributes`, report options) stay open.

Other apps reuse this to check their client fixtures:
`validate_response("getReport", 200, body)`.
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from functools import cache
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator, FormatChecker

from .specs import load_model, load_report_schema, operations


class ContractError(AssertionError):
    """A payload does not match the official model; `problems` lists every mismatch."""

    def __init__(self, where: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{where}: " + "; ".join(problems))


_formats = FormatChecker(formats=())


@_formats.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@_formats.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


def make_strict(schema: Any) -> Any:
    """Return a copy of `schema` where every object with `properties` forbids other keys."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@cache
def _strict_definitions(model_file: str) -> dict:
    return make_strict(load_model(model_file).get("definitions", {}))


@cache
def _validator_for(model_file: str, ref: str) -> Draft4Validator:
    """A validator for one `#/definitions/...` reference of a model."""
    return Draft4Validator(
        {"$ref": ref, "definitions": _strict_definitions(model_file)}, format_checker=_formats
    )


def response_schema_ref(operation_id: str, status: int) -> str | None:
    """The `$ref` of the model's schema for this operation and status, or None if it has none."""
    spec = operations()[operation_id].spec
    response = spec["responses"].get(str(status))
    if response is None:
        raise ContractError(operation_id, [f"the model documents no {status} response"])
    schema = response.get("schema")
    return schema.get("$ref") if schema else None


def _problems(validator: Draft4Validator | Draft7Validator, instance: Any) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def validate_response(operation_id: str, status: int, body: Any) -> None:
    """Raise ContractError unless `body` is what the model allows for this status."""
    ref = response_schema_ref(operation_id, status)
    if ref is None:
        if body not in (None, b"", "", {}):
            raise ContractError(operation_id, [f"the model has no body for {status}"])
        return
    model_file = operations()[operation_id].model_file
    problems = _problems(_validator_for(model_file, ref), body)
    if problems:
        raise ContractError(f"{operation_id} {status}", problems)


@cache
def _report_validator(report_type: str) -> Draft7Validator:
    return Draft7Validator(make_strict(load_report_schema(report_type)), format_checker=_formats)


def validate_report_document(report_type: str, document: Any) -> None:
    """Raise ContractError unless a parsed report document matches Amazon's report schema."""
    problems = _problems(_report_validator(report_type), document)
    if problems:
        raise ContractError(report_type, problems)


@cache
def _route_table() -> list[tuple[str, re.Pattern[str], str]]:
    table = []
    for op in operations().values():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path))
        table.append((op.method, re.compile(f"^{pattern}$"), op.operation_id))
    # Literal paths first, so /items/{id} never shadows a fixed path of the same depth.
    table.sort(key=lambda row: row[1].pattern.count("[^/]+"))
    return table


def operation_for(method: str, path: str) -> str | None:
    """The operationId that serves `method path` (query string ignored), or None."""
    path = path.split("?", 1)[0]
    for route_method, pattern, operation_id in _route_table():
        if route_method == method.upper() and pattern.match(path):
            return operation_id
    return None


def validate_datakiosk_document(query: str, lines: list[dict]) -> None:
    """Raise ContractError unless JSONL `lines` are valid items of the query's list field.

    The lines are run back through the query with graphql-core against Amazon's schema:
    a missing non-null field, a wrong type or a field the query did not select fails.
    (Queries with aliases are not supported here: the resolver reads lines by field name.)
    """
    from graphql import execute, parse

    from .datakiosk import ROOT_FIELD, schema

    document = parse(query)
    inner = document.definitions[0].selection_set.selections[0].selection_set.selections[0]
    root = {ROOT_FIELD: {inner.name.value: lines}}
    result = execute(schema(), document, root_value=root)
    problems = [e.message for e in result.errors or []]
    if not problems and result.data[ROOT_FIELD][inner.name.value] != lines:
        problems.append("the lines carry fields the query did not select")
    if problems:
        raise ContractError("Data Kiosk document", problems)
