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
    Keys are left out rather than set to ``{}`` or null where Grafana's schema
    (``@grafana/schema``'s VariableModel) has no empty form for them: with no ``current``
    Grafana selects the first value, with no ``allValue`` "All" is the listed values.
    """
    variable: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": dict(DATASOURCE),
        "query": {"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "hide": 2 if hidden else 0,
        "includeAll": include_all,
        "multi": multi,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "skipUrlSync": False,
    }
    if include_all:
        variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
        if all_value is not None:
            variable["allValue"] = all_value
    return variable


def account_variable() -> dict[str, Any]:
    """Return the ``account`` picker, for the label the chart's monitors put on each account.

    The Helm chart's ServiceMonitor/PodMonitor (or compose's static_configs) set it. "All"
    is ``.*``, which also matches series with no ``account`` label at all, so a single
    exporter scraped without one still fills every panel.
    """
    return query_variable(
        "account", "Account", 'label_values(acronis_up{job=~"$job"}, account)', multi=True, include_all=True
    )


def scope_variables() -> tuple[dict[str, Any], ...]:
    """Return the data source, job, account and instance variables every dashboard starts with."""
    return (
        datasource_variable(),
        query_variable("job", "Job", "label_values(acronis_up, job)"),
        account_variable(),
        query_variable(
            "instance",
            "Instance",
            'label_values(acronis_up{job=~"$job", account=~"$account"}, instance)',
            multi=True,
            include_all=True,
        ),
    )
