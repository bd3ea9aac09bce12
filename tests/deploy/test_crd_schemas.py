"""The prometheus-operator CRD schemas the chart's objects are validated against do bite."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.deploy.chart import MINIMAL, one, render
from tests.deploy.crds import crd_errors

pytestmark = pytest.mark.slow  # renders the chart

VALUES = {
    **MINIMAL,
    "serviceMonitor": {"enabled": True},
    "podMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    """Render the chart with every operator object once for the module."""
    return render(VALUES)


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor", "PrometheusRule"])
def test_rendered_objects_pass(rendered: list[dict[str, Any]], kind: str) -> None:
    """As rendered, each operator object is valid."""
    assert crd_errors(one(rendered, kind)) == []


@pytest.mark.parametrize(
    ("kind", "path", "value", "complaint"),
    [
        ("ServiceMonitor", ("spec", "endpoints", 0, "tlsconfig"), {}, "('tlsconfig' was unexpected)"),
        ("ServiceMonitor", ("spec", "endpoints", 0, "scheme"), "HTTPS", "is not one of ['http', 'https']"),
        ("PodMonitor", ("spec", "podMetricsEndpoints", 0, "interval"), "1 minute", "does not match"),
        ("PrometheusRule", ("spec", "groups", 0, "rules", 0, "expr"), None, "'expr' is a required property"),
        ("ServiceMonitor", ("spec", "selector"), "app=x", "is not of type 'object'"),
    ],
    ids=["unknown-field", "bad-enum", "bad-duration", "rule-without-expr", "wrong-type"],
)
def test_a_broken_object_is_rejected(
    rendered: list[dict[str, Any]], kind: str, path: tuple[Any, ...], value: object, complaint: str
) -> None:
    """A misspelt field, a bad enum or duration, a missing required field, a wrong type."""
    broken = copy.deepcopy(one(rendered, kind))
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    errors = crd_errors(broken)
    assert len(errors) == 1
    assert complaint in errors[0]
