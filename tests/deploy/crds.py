"""The prometheus-operator CRD schemas, as cloudcoil-models-prometheus-operator ships them.

The package holds pydantic models generated from the operator's CRDs (their OpenAPI schemas:
types, enums, patterns, required fields). Their JSON schema, with unknown fields refused
as the API server's strict field validation does, checks what the chart renders.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jsonschema
from cloudcoil.models.prometheus_operator import v1
from jsonschema.exceptions import ValidationError, best_match

MODELS = {
    "ServiceMonitor": v1.ServiceMonitor,
    "PodMonitor": v1.PodMonitor,
    "PrometheusRule": v1.PrometheusRule,
}


def _closed(node: Any) -> Any:  # noqa: ANN401 - a JSON schema node is any JSON value
    """Return ``node`` with every object that lists its properties refusing any other.

    The models' optional fields read "this or null"; a manifest leaves a field out rather
    than null it, so the null branch goes, and errors name the real constraint.
    """
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    branches = [branch for branch in node.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) == 1 and len(node["anyOf"]) == 2:
        node = {**{key: value for key, value in node.items() if key != "anyOf"}, **branches[0]}
    closed = {key: _closed(value) for key, value in node.items()}
    if isinstance(closed.get("properties"), dict) and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


@cache
def crd_schema(kind: str) -> dict[str, Any]:
    """Return the strict JSON schema of one prometheus-operator kind."""
    schema: dict[str, Any] = _closed(MODELS[kind].model_json_schema(by_alias=True, mode="validation"))
    return schema


def crd_errors(item: dict[str, Any]) -> list[str]:
    """Return what the CRD schema of ``item``'s kind finds wrong in it, one line per error."""
    validator = jsonschema.Draft202012Validator(crd_schema(item["kind"]))
    return [
        f"{item['kind']} {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in map(_deepest, validator.iter_errors(item))
    ]


def _deepest(error: ValidationError) -> ValidationError:
    """Return the error inside "not valid under any of the given schemas" that says why."""
    while error.context:
        found = best_match(error.context)
        if found is None:
            break
        error = found
    return error
