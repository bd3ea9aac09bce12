"""Dashboard variables: the data source, and the label_values(...) queries that fill a picker."""

from __future__ import annotations

from typing import Any

from scripts.assets.grafana import DATASOURCE


def datasource_variable() -> dict[str, Any]:
    """Return the ``datasource`` variable every query goes through."""
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "includeAll": False,
        "multi": False,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": False,
    }


def query_variable(  # noqa: PLR0913 - mirrors Grafana's own variable options
    name: str,
    label: str,
    query: str,
    *,
    multi: bool = False,
    include_all: bool = False,
    all_value: str | None = ".*",
    hidden: bool = False,
) -> dict[str, Any]:
    """Return a variable filled by a ``label_values(...)`` query, refreshed on time change.

    With ``all_value=None``, "All" stands for exactly the listed values, not for any value.
    """
    everything = {"selected": True, "text": ["All"], "value": ["$__all"]}
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(DATASOURCE),
        "definition": query,
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "current": everything if include_all else {},
        "hide": 2 if hidden else 0,
        "includeAll": include_all,
        "multi": multi,
        "allValue": all_value if include_all else None,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "skipUrlSync": False,
    }


def scope_variables() -> tuple[dict[str, Any], ...]:
    """Return the data source, job and instance variables every dashboard starts with."""
    return (
        datasource_variable(),
        query_variable("job", "Job", "label_values(acronis_up, job)"),
        query_variable(
            "instance",
            "Instance",
            'label_values(acronis_up{job=~"$job"}, instance)',
            multi=True,
            include_all=True,
        ),
    )
