"""Render the Helm chart with the Helm SDK (helm-python-sdk) and validate what comes out."""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import yaml

from tests.deploy.crds import crd_errors
from tests.deploy.paths import CHART, load_yaml

RELEASE = "acronis"
NAMESPACE = "monitoring"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest schemas.
KUBERNETES_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
VALUES_FILES = sorted((CHART / "ci").glob("*-values.yaml"))
CUSTOM_KINDS = frozenset({"ServiceMonitor", "PodMonitor", "PrometheusRule"})


# The least a real install needs: without it the chart refuses to render (unless demo).
MINIMAL: dict[str, Any] = {
    "config": {"api": {"url": "https://eu2-cloud.acronis.com"}},
    "credentials": {"clientId": "0f1e2d3c-client", "clientSecret": "not-a-real-secret"},
}


def values_cases() -> list[tuple[str, dict[str, Any]]]:
    """(name, values) for the minimal install and for every ci/*-values.yaml."""
    return [("minimal", MINIMAL), *((path.stem, load_yaml(path)) for path in VALUES_FILES)]


def manifests(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered text for ``values`` (schema-checked first, as helm does)."""
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        rendered: dict[str, str] = chart.render(values, name=RELEASE, namespace=NAMESPACE)
    return rendered


def notes(values: dict[str, Any]) -> str:
    """Return the NOTES.txt helm prints after an install with ``values``."""
    return next(text for path, text in manifests(values).items() if path.endswith("NOTES.txt"))


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Kubernetes object the chart renders for ``values`` (as `helm template` would)."""
    return [
        document
        for path, text in sorted(manifests(values).items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def lint(values: dict[str, Any]) -> dict[str, Any]:
    """`helm lint --strict` the chart with ``values``."""
    return helm.lint(CHART, values, strict=True)


def objects_of(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """Return the rendered objects of one kind."""
    return [item for item in objects if item["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """Return the single rendered object of ``kind``."""
    found = objects_of(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def validate(item: dict[str, Any], version: str) -> None:
    """Validate against the Kubernetes OpenAPI schemas, rejecting unknown fields.

    Prometheus Operator kinds have no schema in kubernetes-validate: their metadata is
    checked as ObjectMeta, and the whole object against the operator's CRD schema.
    """
    if item["kind"] in CUSTOM_KINDS:
        kubernetes_validate.validate(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": item["metadata"]}, version, strict=True
        )
        assert crd_errors(item) == []
        return
    kubernetes_validate.validate(item, version, strict=True)
