"""The tenant dashboard's "Resources and policies" row (needs ``--metrics.resources``).

The README's backup questions, scoped to the chosen tenants: which resources had no good
backup for a day, when each last had one, which policies last failed, and how many tasks
failed in the last day (``--metrics.completion-windows``; that family has no tenant label).
"""

from __future__ import annotations

from scripts.assets.grafana import SCOPE, Panel, Row, Target, metric
from scripts.assets.panels import ALERT_IF_ANY, FAILED, WARN_IF_ANY, stat

_TENANT = 'tenant_id=~"$tenant_id"'
_LAST = "acronis_resource_last_completion_timestamp_seconds"
_POLICY_LAST = "acronis_policy_last_completion_timestamp_seconds"
_RESOURCE_NAMES = f"max by (resource_id, resource_name) ({metric('acronis_resource_info')})"
_POLICY_NAMES = f"max by (policy_id, policy_name) ({metric('acronis_policy_info')})"
_BY_RESOURCE = "by (tenant_id, resource_id)"


def _of_tenant(name: str, *matchers: str) -> str:
    return metric(name, *matchers, scope=f"{SCOPE}, {_TENANT}")


def _named(expr: str, key: str, names: str) -> str:
    """Join the names on, keeping rows without an info series (their id stays their name)."""
    return f"({expr}) * on ({key}) group_left ({key.replace('_id', '_name')}) {names}"


_OK = 'result_code="ok"'
_DECIDING = 'result_code=~"ok|error|timedout|abandoned"'  # ok and the failures, as the README asks
_LAST_GOOD = _of_tenant(_LAST, _OK)
SINCE_GOOD = f"time() - max {_BY_RESOURCE} ({_LAST_GOOD})"
WITHOUT_GOOD = (
    f"group {_BY_RESOURCE} ({_of_tenant(_LAST)}) unless on (tenant_id, resource_id)"
    f" (time() - {_LAST_GOOD} < 86400)"
)
NEWEST_POLICY_OUTCOME = f"topk by (tenant_id, policy_id) (1, {_of_tenant(_POLICY_LAST, _DECIDING)})"
FAILING_POLICIES = f"{NEWEST_POLICY_OUTCOME} unless {_of_tenant(_POLICY_LAST, _OK)}"
_WINDOW_FAILED = metric("acronis_tasks_completed_window", 'window="24h"', FAILED)


def _table(title: str, description: str, unit: str, expr: str, hidden: tuple[str, ...]) -> Panel:
    target = Target(expr, instant=True, format="table")
    return Panel(title, description, unit, (target,), kind="table", width=12, height=8, hidden_columns=hidden)


RESOURCES = Row(
    "Resources and policies",
    (
        stat(
            "Resources without a good backup for 24 hours",
            "Resources of the tenant that completed tasks but none with result ok in the last day "
            "(--metrics.resources; the look-back seeds it at start). The README lists them.",
            "short",
            Target(f"count({WITHOUT_GOOD}) or vector(0)"),
            width=6,
            thresholds=ALERT_IF_ANY,
        ),
        stat(
            "Policies whose newest outcome is a failure",
            "Protection policies of the tenant whose newest completion (of ok and the failures) "
            "is error, timedout or abandoned.",
            "short",
            Target(f"count({FAILING_POLICIES}) or vector(0)"),
            width=6,
            thresholds=WARN_IF_ANY,
        ),
        Panel(
            "Failed in the last 24 hours, every tenant",
            "Tasks completed in the last day with a failure, per result code (lod=count, "
            "--metrics.completion-windows): right from the first scrape, also after a restart.",
            "short",
            (Target(f"sum by (result_code) ({_WINDOW_FAILED})"),),
            no_value="0",
        ),
        _table(
            "Time since the last good backup",
            "Per resource, how long ago a task on it last completed with result ok; the longest first.",
            "s",
            f"sort_desc({_named(SINCE_GOOD, 'resource_id', _RESOURCE_NAMES)})",
            ("Time",),
        ),
        _table(
            "Newest outcome per policy",
            "Each policy of the tenant with the result code of its newest completion (of ok and "
            "the failures) and how long ago it was.",
            "s",
            _named(f"time() - {NEWEST_POLICY_OUTCOME}", "policy_id", _POLICY_NAMES),
            ("Time",),
        ),
    ),
)
