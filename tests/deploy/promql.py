"""Every PromQL expression the project ships, with Grafana's variables filled in.

Dashboards and rules are read from their files (not from scripts/assets), so the tests
check what operators actually load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from exporter import catalogue as specs
from tests.deploy.paths import DASHBOARDS, alert_rules, load_json

if TYPE_CHECKING:
    from collections.abc import Mapping

# What Grafana substitutes for its built-in variables, at a 1 s scrape interval.
GRAFANA_BUILTINS: Mapping[str, str] = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m"}
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$([A-Za-z_]\w*)")  # $1 is a regex group, not a variable
_SELECTOR = re.compile(r"\b([a-z_][a-z0-9_]*)\{([^}]*)\}")
_MATCHER = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
_METRIC_NAME = re.compile(r"\b(?:acronis|astra_control)_[a-z0-9_]+\b")  # both sources' families
_COMPARISON = re.compile(r" (==|!=|>=|<=|>|<) (?!bool )")
_ABSENT = re.compile(r"\babsent\(([^()]*)\)")
# Series the exporter's registry adds beside the catalogue, and Prometheus' own per target.
OTHER_SERIES = frozenset(
    {"up", "scrape_samples_scraped", "scrape_duration_seconds", "process_resident_memory_bytes",
     "process_cpu_seconds_total"}
)  # fmt: skip
TARGET_LABELS = frozenset({"job", "instance", "account"})  # account: set per target by the chart/compose
# Families another branch adds to exporter/catalogue.py, which the rules may name before it
# lands (issue 11). Once the catalogue has a family, its own spec wins; the live tests ask
# no data of a pending family the running exporter does not expose yet.
PENDING: Mapping[str, specs.MetricSpec] = {
    "acronis_exporter_poll_interval_seconds": specs.MetricSpec(
        "acronis_exporter_poll_interval_seconds", "gauge", "Seconds between polls (--poll.interval)."
    ),
}


@dataclass(frozen=True)
class Query:
    """One expression and where it is shown."""

    where: str  # "dashboard title / panel title" or "alert AlertName"
    expr: str
    instant: bool = False  # Grafana runs it at "now" only (tables), not over the time range


def catalogue() -> dict[str, specs.MetricSpec]:
    """Every metric family of exporter/catalogue.py by exposition name (counters without _total)."""
    return {spec.name: spec for spec in vars(specs).values() if isinstance(spec, specs.MetricSpec)}


def known_families() -> dict[str, specs.MetricSpec]:
    """Return the catalogue plus the pending families it does not have yet."""
    return {**PENDING, **catalogue()}


def dashboard_queries() -> list[Query]:
    """Every target expression of every panel of every dashboard file."""
    return [
        Query(f"{dashboard['title']} / {panel['title']}", target["expr"], target.get("instant", False))
        for dashboard in map(load_json, DASHBOARDS)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def alert_queries() -> list[Query]:
    """List the expression of every alert rule."""
    return [Query(f"alert {rule['alert']}", " ".join(rule["expr"].split())) for rule in alert_rules()]


def dashboard_variables() -> list[tuple[str, dict[str, Any]]]:
    """(dashboard title, variable) for every templating variable."""
    return [
        (dashboard["title"], variable)
        for dashboard in map(load_json, DASHBOARDS)
        for variable in dashboard["templating"]["list"]
    ]


def variable_query(variable: Mapping[str, Any]) -> str:
    """Return the ``label_values(...)`` query a query variable runs ("" for the data-source picker)."""
    query = variable.get("query")
    return str(query["query"]) if isinstance(query, dict) else ""


def substitute(expr: str, values: Mapping[str, str]) -> str:
    """Fill in ``$name`` and ``${name}`` from ``values`` and Grafana's built-ins; fail on unknowns."""
    known = {**GRAFANA_BUILTINS, **values}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in known:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return known[name]

    return _VARIABLE.sub(fill, expr)


def without_thresholds(expr: str) -> str:
    """Turn every filtering comparison into a ``bool`` one, and ``absent(x)`` into ``x``.

    An alert expression then returns data whenever its inputs exist, firing or not: the
    rule files write binary comparisons with one space on each side, which this relies on.
    """
    return _COMPARISON.sub(lambda match: f" {match.group(1)} bool ", _ABSENT.sub(r"\1", expr))


def family(name: str) -> tuple[str, str]:
    """Split an exposed series name into (family, suffix): _total, _bucket, _sum, _count or ""."""
    for suffix in ("_total", "_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name.removesuffix(suffix) in known_families():
            return name.removesuffix(suffix), suffix
    return name, ""


def metric_names(expr: str) -> set[str]:
    """Return the acronis_* and astra_control_* series names an expression reads."""
    return set(_METRIC_NAME.findall(expr))


def selector_labels(expr: str) -> list[tuple[str, str]]:
    """(series name, label name) for every label matcher inside a selector's braces."""
    return [
        (name, label) for name, matchers in _SELECTOR.findall(expr) for label in _MATCHER.findall(matchers)
    ]
