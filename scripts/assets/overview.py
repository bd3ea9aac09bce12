"""The overview dashboard: what Task Manager is doing across every tenant the client sees."""

from __future__ import annotations

from scripts.assets.grafana import Dashboard, Panel, Row, Target, metric
from scripts.assets.overview_activities import ACTIVITIES
from scripts.assets.panels import (
    ALERT_IF_ANY,
    FAILURE_RATIO_THRESHOLDS,
    OPEN,
    RATE,
    WARN_IF_ANY,
    completed_by_result,
    failure_ratio,
    per_minute,
    quantiles,
    retained_by_result,
    stat,
    sum_by,
    with_tenant_names,
)
from scripts.assets.variables import scope_variables

NOT_OK = 'result_code!="ok"'
OPEN_BY_TENANT = f"sum by (tenant_id) ({metric('acronis_open_tasks')})"
ENQUEUED = 'state="enqueued"'


NOW = Row(
    "Task Manager now",
    (
        Panel(
            "Open tasks by state",
            "Tasks in each open state right now, from lod=count queries over every tenant the API "
            "client sees. Completed tasks are left out: their count is what the API still retains.",
            "short",
            (sum_by("state", metric("acronis_tasks", OPEN)),),
            kind="stat",
            width=8,
            height=5,
        ),
        stat(
            "Waiting for a person",
            "Open tasks with blockers: they wait for someone to answer a question and will not "
            "progress by themselves.",
            "short",
            # The exporter emits only queues with blocked tasks: none blocked reads 0, not "No data".
            Target(f"sum({metric('acronis_tasks_blocked')}) or vector(0)"),
            width=4,
            thresholds=ALERT_IF_ANY,
            no_value="0",
        ),
        stat(
            "Cancel requested",
            "Open tasks whose cancellation was requested but that have not completed yet.",
            "short",
            Target(f"sum({metric('acronis_tasks_cancel_requested')}) or vector(0)"),
            width=4,
            thresholds=WARN_IF_ANY,
            no_value="0",
        ),
        stat(
            "Oldest waiting task",
            "How long the oldest enqueued task has waited to start, over every queue.",
            "s",
            Target(f"time() - min({metric('acronis_task_oldest_timestamp_seconds', ENQUEUED)})"),
            width=4,
            thresholds=((None, "green"), (1800, "orange"), (3600, "red")),
        ),
        stat(
            "Failure ratio, last hour",
            "Share of the tasks completed in the last hour that ended in error, timedout or abandoned.",
            "percentunit",
            Target(failure_ratio("acronis_tasks_completed_total", "", "[1h]")),
            width=4,
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
            "Tasks not yet completed, by state, from the paginated listing.",
            "short",
            (sum_by("state", metric("acronis_open_tasks")),),
            stacked=True,
        ),
        Panel(
            "Open tasks per queue",
            "Tasks not yet completed in each queue (lod=count). A line that keeps rising is a "
            "backlog: work arrives faster than it completes.",
            "short",
            (sum_by("queue", metric("acronis_queue_open_tasks")),),
        ),
        Panel(
            "Waiting tasks per queue",
            "Enqueued tasks (not yet assigned or started) in each queue.",
            "short",
            (sum_by("queue", metric("acronis_open_tasks", ENQUEUED)),),
        ),
        Panel(
            "Age of the oldest open task",
            "Time since the oldest open task of each queue entered its state (enqueued: since "
            "enqueuedAt; started: since startedAt).",
            "s",
            (
                Target(
                    f"time() - min by (queue, state) ({metric('acronis_task_oldest_timestamp_seconds')})",
                    "{{queue}} {{state}}",
                ),
            ),
        ),
        Panel(
            "Waiting for a person, per queue",
            "Open tasks with blockers in each queue.",
            "short",
            (sum_by("queue", metric("acronis_tasks_blocked")),),
            no_value="0",
        ),
        Panel(
            "Cancel requested and reassigned",
            "Open tasks per queue whose cancellation is pending, and open tasks assigned more "
            "than once (assignCount > 1), a sign of agents dropping work.",
            "short",
            (
                Target(
                    f"sum by (queue) ({metric('acronis_tasks_cancel_requested')})",
                    "cancel requested {{queue}}",
                ),
                Target(f"sum by (queue) ({metric('acronis_tasks_reassigned')})", "reassigned {{queue}}"),
            ),
            no_value="0",
        ),
        Panel(
            "Tenants with the most open tasks",
            "The 20 tenants with the most open tasks, named through acronis_tenant_info.",
            "short",
            (
                Target(
                    f"topk(20, {with_tenant_names(OPEN_BY_TENANT)})",
                    instant=True,
                    format="table",
                ),
            ),
            kind="table",
            width=24,
            hidden_columns=("Time",),
        ),
    ),
)

THROUGHPUT = Row(
    "Throughput and errors",
    (
        completed_by_result(
            "Completed tasks by result",
            "Tasks completed per minute, by result code, counted exactly from the completion listing.",
            "acronis_tasks_completed_total",
        ),
        Panel(
            "Share of each non-ok result",
            "Share of completed tasks that ended with each result code other than ok.",
            "percentunit",
            (
                Target(
                    f"sum by (result_code) (rate({metric('acronis_tasks_completed_total', NOT_OK)}{RATE}))"
                    " / ignoring (result_code) group_left ()"
                    f" sum (rate({metric('acronis_tasks_completed_total')}{RATE}))",
                    "{{result_code}}",
                ),
            ),
            no_value="0",
        ),
        Panel(
            "Completed tasks per queue",
            "Tasks completed per minute in each queue, any result.",
            "cpm",
            (Target(per_minute("acronis_tasks_completed_total", "queue"), "{{queue}}"),),
        ),
        Panel(
            "Failure ratio per queue",
            "Share of the tasks completed in each queue that ended in error, timedout or abandoned.",
            "percentunit",
            (Target(failure_ratio("acronis_tasks_completed_total", "queue"), "{{queue}}"),),
            no_value="0",
        ),
        retained_by_result(
            "Completed tasks the API retains",
            "Completed tasks the API still returns, per result code (lod=count). It depends on "
            "Acronis retention: use it to reconcile, not for rates.",
            "acronis_tasks_completed_retained",
        ),
    ),
)

RUN_TIME = Row(
    "Run time and queue wait",
    (
        Panel(
            "Task run time",
            "Percentiles of the run time (startedAt to completedAt) of the tasks completed in each interval.",
            "s",
            quantiles("acronis_task_duration_seconds"),
        ),
        Panel(
            "Task run time p90 per queue",
            "90th percentile of the run time of the tasks completed in each queue.",
            "s",
            (
                Target(
                    "histogram_quantile(0.9, sum by (le, queue)"
                    f" (rate({metric('acronis_task_duration_seconds_bucket')}{RATE})))",
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Queue wait",
            "Percentiles of how long completed tasks waited between enqueuedAt and startedAt.",
            "s",
            quantiles("acronis_task_queue_wait_seconds"),
        ),
        Panel(
            "Mean run time per queue",
            "Average run time of the tasks completed in each queue.",
            "s",
            (
                Target(
                    f"sum by (queue) (rate({metric('acronis_task_duration_seconds_sum')}{RATE}))"
                    f" / sum by (queue) (rate({metric('acronis_task_duration_seconds_count')}{RATE}))",
                    "{{queue}}",
                ),
            ),
        ),
        Panel(
            "Task run time distribution",
            "How many tasks completed with each run time (histogram buckets) in each interval.",
            "short",
            (
                Target(
                    f"sum by (le) (increase({metric('acronis_task_duration_seconds_bucket')}{RATE}))",
                    "{{le}}",
                    format="heatmap",
                ),
            ),
            kind="heatmap",
            width=24,
        ),
    ),
)

OVERVIEW = Dashboard(
    uid="acronis-task-overview",
    title="Acronis Task Manager / Overview",
    description="Tasks and activities across every tenant the API client sees: backlog, "
    "throughput, errors, run time and queue wait. Data from acronis-task-exporter.",
    rows=(NOW, BACKLOG, THROUGHPUT, RUN_TIME, ACTIVITIES),
    variables=scope_variables(),
)
