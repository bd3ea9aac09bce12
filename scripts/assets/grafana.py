"""A small typed model of Grafana dashboards, rendered to the JSON Grafana provisions.

Dashboards are described as rows of panels; layout (gridPos), ids, the data-source
reference and the defaults every panel shares are filled in here, so the definitions
only say what differs. Every panel must have a description and a unit: the model makes
both required arguments. Dashboard variables are built in ``variables``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

SCHEMA_VERSION = 39
GRID_WIDTH = 24
DATASOURCE: Mapping[str, str] = {"type": "prometheus", "uid": "${datasource}"}
# Every query is scoped to the chosen job and instances.
SCOPE = 'job=~"$job", account=~"$account", instance=~"$instance"'

PanelKind = Literal["timeseries", "stat", "table", "state-timeline", "bargauge", "heatmap"]
TargetFormat = Literal["time_series", "table", "heatmap"]


def metric(name: str, *matchers: str, scope: str = SCOPE) -> str:
    """Build a selector for ``name`` limited to the dashboard's job and instances."""
    return f"{name}{{{', '.join((scope, *matchers))}}}"


@dataclass(frozen=True)
class Target:
    """One PromQL query of a panel."""

    expr: str
    legend: str = "__auto"
    instant: bool = False
    format: TargetFormat = "time_series"


@dataclass(frozen=True)
class Panel:
    """One visualisation; ``width`` is in grid columns (24 per row)."""

    title: str
    description: str
    unit: str
    targets: tuple[Target, ...]
    kind: PanelKind = "timeseries"
    width: int = 12
    height: int = 8
    thresholds: tuple[tuple[float | None, str], ...] = ((None, "green"),)
    mappings: tuple[Mapping[str, Any], ...] = ()
    stacked: bool = False
    decimals: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    hidden_columns: tuple[str, ...] = ()  # tables: columns to leave out (Time, Value, ...)
    # Shown instead of "No data" when the queries return nothing: "0" on panels of failures,
    # retries and the like, whose series may not exist at all while nothing has gone wrong.
    no_value: str | None = None


@dataclass(frozen=True)
class Row:
    """A titled group of panels, laid out left to right."""

    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    """A whole dashboard: metadata, variables and rows."""

    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Mapping[str, Any], ...]
    tags: tuple[str, ...] = ("acronis", "task-manager")


def render(dashboard: Dashboard) -> dict[str, Any]:
    """Render ``dashboard`` as the JSON model Grafana imports and provisions."""
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "annotations": {"list": [_builtin_annotations()]},
        "links": [
            {
                "type": "dashboards",
                "title": "Acronis dashboards",
                "tags": ["acronis"],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
                "icon": "external link",
                "targetBlank": False,
                "tooltip": "",
                "url": "",
            }
        ],
        "templating": {"list": [dict(variable) for variable in dashboard.variables]},
        "panels": list(_layout(dashboard.rows)),
    }


def _builtin_annotations() -> dict[str, Any]:
    return {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }


def _layout(rows: tuple[Row, ...]) -> Iterator[dict[str, Any]]:
    """Place rows top to bottom and their panels left to right, wrapping at 24 columns."""
    panel_id = 0
    y = 0
    for row in rows:
        panel_id += 1
        yield {
            "type": "row",
            "id": panel_id,
            "title": row.title,
            "collapsed": False,
            "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
            "panels": [],
        }
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panel_id += 1
            yield _panel(panel, panel_id, {"h": panel.height, "w": panel.width, "x": x, "y": y})
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height


def _panel(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": panel.unit,
        "color": {"mode": "palette-classic" if panel.kind == "timeseries" else "thresholds"},
        "thresholds": {
            "mode": "absolute",
            "steps": [{"value": value, "color": color} for value, color in panel.thresholds],
        },
        "mappings": [dict(mapping) for mapping in panel.mappings],
    }
    if panel.decimals is not None:
        defaults["decimals"] = panel.decimals
    if panel.no_value is not None:
        defaults["noValue"] = panel.no_value
    if panel.kind == "timeseries":
        defaults["custom"] = _timeseries_style(stacked=panel.stacked)
    rendered = {
        "type": panel.kind,
        "id": panel_id,
        "title": panel.title,
        "description": panel.description,
        "datasource": dict(DATASOURCE),
        "gridPos": grid,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {**_default_options(panel.kind), **panel.options},
        "targets": [_target(target, ref) for target, ref in zip(panel.targets, _ref_ids(), strict=False)],
    }
    if panel.hidden_columns:
        hide = dict.fromkeys(panel.hidden_columns, True)
        rendered["transformations"] = [{"id": "organize", "options": {"excludeByName": hide}}]
    return rendered


def _ref_ids() -> Iterator[str]:
    yield from "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _target(target: Target, ref_id: str) -> dict[str, Any]:
    return {
        "refId": ref_id,
        "datasource": dict(DATASOURCE),
        "editorMode": "code",
        "expr": target.expr,
        "legendFormat": target.legend,
        "range": not target.instant,
        "instant": target.instant,
        "format": target.format,
    }


def _timeseries_style(*, stacked: bool) -> dict[str, Any]:
    return {
        "drawStyle": "line",
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "fillOpacity": 20 if stacked else 10,
        "gradientMode": "none",
        "showPoints": "never",
        "spanNulls": False,
        "axisPlacement": "auto",
        "axisSoftMin": 0,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }


def _default_options(kind: PanelKind) -> dict[str, Any]:
    last = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if kind == "timeseries":
        return {
            "legend": {
                "displayMode": "table",
                "placement": "bottom",
                "showLegend": True,
                "calcs": ["lastNotNull", "max"],
            },
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    if kind == "stat":
        return {
            "reduceOptions": last,
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    if kind == "bargauge":
        return {
            "reduceOptions": last,
            "displayMode": "gradient",
            "orientation": "horizontal",
            "showUnfilled": True,
        }
    if kind == "state-timeline":
        return {
            "showValue": "never",
            "mergeValues": True,
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "single", "sort": "none"},
        }
    if kind == "heatmap":
        return {
            "calculate": False,
            "cellGap": 1,
            "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
            "yAxis": {"axisPlacement": "left", "unit": "s"},
            "tooltip": {"show": True, "yHistogram": True},
            "legend": {"show": True},
        }
    return {
        "showHeader": True,
        "cellHeight": "sm",
        "footer": {"show": False, "reducer": ["sum"], "fields": ""},
    }
