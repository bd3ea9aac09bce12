"""Queries and panel shapes that more than one dashboard uses, written once.

A selector is built by ``grafana.metric`` (or a dashboard's own scoped variant); the helpers
here wrap it in the PromQL every dashboard writes the same way, so that the overview's and
the tenant view's "failure ratio" cannot drift apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scripts.assets.grafana import SCOPE, Panel, Target, metric

if TYPE_CHECKING:
    from collections.abc import Mapping

FAILED = 'result_code=~"error|timedout|abandoned"'  # the same set the error-ratio alert uses
RATE = "[$__rate_interval]"
PERCENTILES = (0.5, 0.9, 0.99)
WARN_IF_ANY = ((None, "green"), (1, "orange"))
ALERT_IF_ANY = ((None, "green"), (1, "red"))
FAILURE_RATIO_THRESHOLDS = ((None, "green"), (0.05, "orange"), (0.1, "red"))
Thresholds = tuple[tuple[float | None, str], ...]
OPEN = 'state!="completed"'  # lod=count's "completed" is retention, not current work
TENANT_NAMES = f"max by (tenant_id, tenant_name) ({metric('acronis_tenant_info')})"


def with_tenant_names(expr_by_tenant: str) -> str:
    """Attach ``tenant_name`` to a result with one series per ``tenant_id``, dropping none.

    A plain ``* on (tenant_id) group_left (tenant_name)`` join drops every tenant without an
    acronis_tenant_info series, such as a folded "__other__" bucket when the exporter gives
    it none; those keep their tenant_id as the name instead.
    """
    named = f"{expr_by_tenant} * on (tenant_id) group_left (tenant_name) {TENANT_NAMES}"
    unnamed = f'label_replace({expr_by_tenant}, "tenant_name", "$1", "tenant_id", "(.*)")'
    return f"({named}) or on (tenant_id) {unnamed}"


def quantiles(histogram: str, *, by: str = "") -> tuple[Target, ...]:
    """Build p50/p90/p99 targets from a histogram's buckets (``by`` adds grouping labels)."""
    labels = f"le, {by}" if by else "le"
    suffix = f" {{{{{by}}}}}" if by else ""
    return tuple(
        Target(
            f"histogram_quantile({q}, sum by ({labels}) (rate({metric(histogram + '_bucket')}{RATE})))",
            legend=f"p{round(q * 100)}{suffix}",
        )
        for q in PERCENTILES
    )


def per_minute(counter: str, by: str, *matchers: str, scope: str = SCOPE) -> str:
    """Per-minute rate of ``counter`` summed by ``by``."""
    return f"sum by ({by}) (rate({metric(counter, *matchers, scope=scope)}{RATE})) * 60"


def share(part: str, whole: str) -> str:
    """``part / whole`` per group, 0 where ``whole`` has a group that ``part`` lacks.

    A failure counter has no series at all for a group in which nothing failed yet, so a
    plain division drops that group ("No data" on a healthy system): ``or`` the whole times
    0 fills it in. A group whose whole is 0 has no share and is left out.
    """
    return f"({part} or {whole} * 0) / ({whole} > 0)"


def failure_ratio(counter: str, by: str, window: str = RATE, *, scope: str = SCOPE) -> str:
    """Share of completions in ``window`` that failed (error, timedout, abandoned), by ``by``."""
    grouping = f" by ({by})" if by else ""
    failed = f"sum{grouping} (rate({metric(counter, FAILED, scope=scope)}{window}))"
    return share(failed, f"sum{grouping} (rate({metric(counter, scope=scope)}{window}))")


def sum_by(label: str, selector: str) -> Target:
    """Sum ``selector`` by one label, with that label as the legend."""
    return Target(f"sum by ({label}) ({selector})", f"{{{{{label}}}}}")


def stat(  # noqa: PLR0913 - the stat-specific knobs of Panel, passed through
    title: str,
    description: str,
    unit: str,
    target: Target,
    *,
    width: int,
    thresholds: Thresholds = ((None, "green"),),
    mappings: tuple[Mapping[str, Any], ...] = (),
    options: Mapping[str, Any] | None = None,
    no_value: str | None = None,
) -> Panel:
    """Build one number of a row of headline stats; every stat is five units high."""
    return Panel(
        title,
        description,
        unit,
        (target,),
        kind="stat",
        width=width,
        height=5,
        thresholds=thresholds,
        mappings=mappings,
        options=options or {},
        no_value=no_value,
    )


def completed_by_result(title: str, description: str, counter: str, *, scope: str = SCOPE) -> Panel:
    """Completions per minute of a ``*_completed_total`` counter, stacked by result code."""
    return Panel(
        title,
        description,
        "cpm",
        (Target(per_minute(counter, "result_code", scope=scope), "{{result_code}}"),),
        stacked=True,
    )


def increase_by(counter: str, by: str) -> str:
    """Increase of ``counter`` per interval, summed by ``by``: readable for rare events."""
    return f"sum by ({by}) (increase({metric(counter)}{RATE}))"


def retained_by_result(title: str, description: str, gauge: str) -> Panel:
    """Show what the API still retains of a completed kind, per result code, as a full-width bar gauge."""
    return Panel(
        title,
        description,
        "short",
        (sum_by("result_code", metric(gauge)),),
        kind="bargauge",
        width=24,
        height=6,
    )
