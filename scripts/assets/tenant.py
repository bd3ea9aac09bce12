"""The per-tenant drill-down: one tenant's backlog, completions and failures, and the top tenants.

The tenant is picked by name (``$tenant``, from acronis_tenant_info) and mapped to its ids
(``$tenant_id``, hidden) through the same series, because every data series carries only
``tenant_id``. Tables and legends that list tenants join the name back on with
``* on (tenant_id) group_left (tenant_name) acronis_tenant_info``, keeping tenants that have
no info series (panels.with_tenant_names).
"""

from __future__ import annotations

from scripts.assets.grafana import (
    SCOPE,
    Dashboard,
    Panel,
    Row,
    Target,
    metric,
)
from scripts.assets.panels import (
    ALERT_IF_ANY,
    FAILURE_RATIO_THRESHOLDS,
    RATE,
    completed_by_result,
    failure_ratio,
    per_minute,
    stat,
    sum_by,
    with_tenant_names,
)
from scripts.assets.resources import RESOURCES
from scripts.assets.variables import query_variable, scope_variables

TENANT = 'tenant_id=~"$tenant_id"'
TENANT_SCOPE = f"{SCOPE}, {TENANT}"
OPEN_BY_TENANT = f"sum by (tenant_id) ({metric('acronis_open_tasks')})"
BLOCKED_BY_TENANT = f"sum by (tenant_id) ({metric('acronis_tasks_blocked')})"
FAILURE_RATIO_BY_TENANT = f"({failure_ratio('acronis_tasks_completed_total', 'tenant_id')})"
COMPLETED_BY_TENANT = per_minute("acronis_tasks_completed_total", "tenant_id")


def of_tenant(name: str, *matchers: str) -> str:
    """Build a selector for ``name`` limited to the chosen tenant (and job and instances)."""
    return metric(name, *matchers, scope=TENANT_SCOPE)


def top_ten(expr_by_tenant: str) -> tuple[Target, ...]:
    """Query the ten tenants with the highest ``expr_by_tenant``, each named in the legend."""
    return (Target(f"topk(10, {with_tenant_names(expr_by_tenant)})", "{{tenant_name}}"),)


def tenant_failure_ratio(by: str, window: str = RATE) -> str:
    """Failure ratio of the chosen tenant's tasks by ``by`` (all of them when empty)."""
    return failure_ratio("acronis_tasks_completed_total", by, window, scope=TENANT_SCOPE)


def tenant_variables() -> tuple[dict[str, object], ...]:
    """Scope variables plus the tenant (by name) and its ids (hidden, all ids of that name)."""
    info = 'acronis_tenant_info{job=~"$job", account=~"$account", instance=~"$instance"'
    return (
        *scope_variables(),
        query_variable("tenant", "Tenant", f"label_values({info}}}, tenant_name)"),
        query_variable(
            "tenant_id",
            "Tenant id",
            f'label_values({info}, tenant_name="$tenant"}}, tenant_id)',
            multi=True,
            include_all=True,
            all_value=None,  # "All" must mean every id of this name, never every tenant
            hidden=True,
        ),
    )


SUMMARY = Row(
    "Tenant",
    (
        Panel(
            "Tenant",
            "The chosen tenant as the listings describe it: id, name, locator (path of tenant ids "
            "from the root), uuid and parent.",
            "none",
            (
                Target(
                    "max by (tenant_id, tenant_name, locator, tenant_uuid, parent_tenant_id)"
                    f" ({of_tenant('acronis_tenant_info')})",
                    instant=True,
                    format="table",
                ),
            ),
            kind="table",
            width=24,
            height=4,
            hidden_columns=("Time", "Value"),
        ),
        stat(
            "Open tasks",
            "The tenant's tasks not yet completed, in any state.",
            "short",
            Target(f"sum({of_tenant('acronis_open_tasks')})"),
            width=6,
        ),
        stat(
            "Waiting for a person",
            "The tenant's open tasks with blockers: someone must answer a question.",
            "short",
            Target(f"sum({of_tenant('acronis_tasks_blocked')}) or vector(0)"),
            width=6,
            thresholds=ALERT_IF_ANY,
            no_value="0",
        ),
        stat(
            "Completed in the last hour",
            "The tenant's tasks that completed in the last hour, any result.",
            "short",
            Target(f"sum(increase({of_tenant('acronis_tasks_completed_total')}[1h]))"),
            width=6,
        ),
        stat(
            "Failure ratio, last hour",
            "Share of the tenant's tasks completed in the last hour that ended in error, timedout "
            "or abandoned.",
            "percentunit",
            Target(tenant_failure_ratio("", "[1h]")),
            width=6,
            thresholds=FAILURE_RATIO_THRESHOLDS,
            no_value="0",
        ),
    ),
)

BACKLOG = Row(
    "Backlog",
    (
        Panel(
            "Open tasks by state",
            "The tenant's tasks not yet completed, by state.",
            "short",
            (sum_by("state", of_tenant("acronis_open_tasks")),),
            stacked=True,
        ),
        Panel(
            "Open tasks per queue",
            "The tenant's tasks not yet completed, by queue.",
            "short",
            (sum_by("queue", of_tenant("acronis_open_tasks")),),
        ),
        Panel(
            "Open tasks by type",
            "The tenant's tasks not yet completed, by task type (types beyond the cap show as __other__).",
            "short",
            (sum_by("task_type", of_tenant("acronis_open_tasks")),),
        ),
        Panel(
            "Waiting for a person, per queue",
            "The tenant's open tasks with blockers, by queue.",
            "short",
            (sum_by("queue", of_tenant("acronis_tasks_blocked")),),
            no_value="0",
        ),
    ),
)

COMPLETIONS = Row(
    "Completions and activities",
    (
        completed_by_result(
            "Completed tasks by result",
            "The tenant's tasks completed per minute, by result code.",
            "acronis_tasks_completed_total",
            scope=TENANT_SCOPE,
        ),
        Panel(
            "Failure ratio per queue",
            "Share of the tenant's completed tasks in each queue that ended in error, timedout or abandoned.",
            "percentunit",
            (Target(tenant_failure_ratio("queue"), "{{queue}}"),),
            no_value="0",
        ),
        completed_by_result(
            "Completed activities by result",
            "The tenant's activities completed per minute, by result code.",
            "acronis_activities_completed_total",
            scope=TENANT_SCOPE,
        ),
        Panel(
            "Open activities by state",
            "The tenant's activities not yet completed, by state.",
            "short",
            (sum_by("state", of_tenant("acronis_open_activities")),),
        ),
    ),
)

ALL_TENANTS = Row(
    "Compared with other tenants",
    (
        Panel(
            "Open tasks, top 10 tenants",
            "The ten tenants with the most open tasks, by name, for comparison.",
            "short",
            top_ten(OPEN_BY_TENANT),
        ),
        Panel(
            "Failure ratio, top 10 tenants",
            "The ten tenants whose completed tasks failed most often (error, timedout, abandoned).",
            "percentunit",
            top_ten(FAILURE_RATIO_BY_TENANT),
            no_value="0",
        ),
        Panel(
            "Completed tasks per tenant",
            "Tasks completed per minute by the ten busiest tenants, any result.",
            "cpm",
            top_ten(COMPLETED_BY_TENANT),
        ),
        Panel(
            "Waiting for a person, per tenant",
            "The ten tenants with the most open tasks with blockers: who has questions to answer.",
            "short",
            top_ten(BLOCKED_BY_TENANT),
            no_value="0",
        ),
    ),
)

TENANT_DASHBOARD = Dashboard(
    uid="acronis-task-tenant",
    title="Acronis Task Manager / Tenant",
    description="One tenant's tasks and activities: backlog, completions, failures and tasks "
    "waiting for a person, next to the busiest tenants. Data from acronis-task-exporter.",
    rows=(SUMMARY, BACKLOG, COMPLETIONS, RESOURCES, ALL_TENANTS),
    variables=tenant_variables(),
)
