"""The overview dashboard: what Task Manager is doing across every tenant the client sees."""

from __future__ import annotations

from scripts.assets.grafana import Dashboard, Panel, Row, Target, metric, scope_variables

FAILED = 'result_code=~"error|timedout|abandoned"'  # the same set the error-ratio alert uses
NOT_OK = 'result_code!="ok"'
OPEN = 'state!="completed"'  # lod=count's "completed" is retention, not current work
ENQUEUED = 'state="enqueued"'
RATE = "[$__rate_interval]"
PERCENTILES = (0.5, 0.9, 0.99)
WARN_IF_ANY = ((None, "green"), (1, "orange"))
ALERT_IF_ANY = ((None, "green"), (1, "red"))


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


def per_minute(counter: str, by: str, *matchers: str) -> str:
    """Per-minute rate of ``counter`` summed by ``by``."""
    return f"sum by ({by}) (rate({metric(counter, *matchers)}{RATE})) * 60"


def failure_ratio(counter: str, by: str, window: str = RATE) -> str:
    """Share of completions in ``window`` that failed (error, timedout, abandoned), by ``by``."""
    grouping = f" by ({by})" if by else ""
    failed = f"sum{grouping} (rate({metric(counter, FAILED)}{window}))"
    return f"{failed} / sum{grouping} (rate({metric(counter)}{window}))"


NOW = Row(
    "Task Manager now",
    (
        Panel(
            "Open tasks by state",
            "Tasks in each open state right now, from lod=count queries over every tenant the API "
            "client sees. Completed tasks are left out: their count is what the API still retains.",
            "short",
            (Target(f"sum by (state) ({metric('acronis_tasks', OPEN)})", "{{state}}"),),
            kind="stat",
            width=8,
            height=5,
        ),
        Panel(
            "Waiting for a person",
            "Open tasks with blockers: they wait for someone to answer a question and will not "
            "progress by themselves.",
            "short",
            # The exporter emits only queues with blocked tasks: none blocked reads 0, not "No data".
            (Target(f"sum({metric('acronis_tasks_blocked')}) or vector(0)"),),
            kind="stat",
            width=4,
            height=5,
            thresholds=ALERT_IF_ANY,
        ),
        Panel(
            "Cancel requested",
            "Open tasks whose cancellation was requested but that have not completed yet.",
            "short",
            (Target(f"sum({metric('acronis_tasks_cancel_requested')})"),),
            kind="stat",
            width=4,
            height=5,
            thresholds=WARN_IF_ANY,
        ),
        Panel(
            "Oldest waiting task",
            "How long the oldest enqueued task has waited to start, over every queue.",
            "s",
            (Target(f"time() - min({metric('acronis_task_oldest_timestamp_seconds', ENQUEUED)})"),),
            kind="stat",
            width=4,
            height=5,
            thresholds=((None, "green"), (1800, "orange"), (3600, "red")),
        ),
        Panel(
            "Failure ratio, last hour",
            "Share of the tasks completed in the last hour that ended in error, timedout or abandoned.",
            "percentunit",
            (Target(failure_ratio("acronis_tasks_completed_total", "", "[1h]")),),
            kind="stat",
            width=4,
            height=5,
            thresholds=((None, "green"), (0.05, "orange"), (0.1, "red")),
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
            (Target(f"sum by (state) ({metric('acronis_open_tasks')})", "{{state}}"),),
            stacked=True,
        ),
        Panel(
            "Open tasks per queue",
            "Tasks not yet completed in each queue (lod=count). A line that keeps rising is a "
            "backlog: work arrives faster than it completes.",
            "short",
            (Target(f"sum by (queue) ({metric('acronis_queue_open_tasks')})", "{{queue}}"),),
        ),
        Panel(
            "Waiting tasks per queue",
            "Enqueued tasks (not yet assigned or started) in each queue.",
            "short",
            (Target(f"sum by (queue) ({metric('acronis_open_tasks', ENQUEUED)})", "{{queue}}"),),
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
            (Target(f"sum by (queue) ({metric('acronis_tasks_blocked')})", "{{queue}}"),),
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
        ),
        Panel(
            "Tenants with the most open tasks",
            "The 20 tenants with the most open tasks, named through acronis_tenant_info.",
            "short",
            (
                Target(
                    f"topk(20, sum by (tenant_id) ({metric('acronis_open_tasks')})"
                    " * on (tenant_id) group_left (tenant_name)"
                    f" max by (tenant_id, tenant_name) ({metric('acronis_tenant_info')}))",
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
        Panel(
            "Completed tasks by result",
            "Tasks completed per minute, by result code, counted exactly from the completion listing.",
            "cpm",
            (Target(per_minute("acronis_tasks_completed_total", "result_code"), "{{result_code}}"),),
            stacked=True,
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
        ),
        Panel(
            "Completed tasks the API retains",
            "Completed tasks the API still returns, per result code (lod=count). It depends on "
            "Acronis retention: use it to reconcile, not for rates.",
            "short",
            (
                Target(
                    f"sum by (result_code) ({metric('acronis_tasks_completed_retained')})", "{{result_code}}"
                ),
            ),
            kind="bargauge",
            width=24,
            height=6,
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

ACTIVITIES = Row(
    "Activities",
    (
        Panel(
            "Activities by state",
            "Activities in each open state (lod=count). Activities are the steps tasks run.",
            "short",
            (Target(f"sum by (state) ({metric('acronis_activities', OPEN)})", "{{state}}"),),
            stacked=True,
        ),
        Panel(
            "Open activities by type",
            "Activities not yet completed, by activity type.",
            "short",
            (Target(f"sum by (activity_type) ({metric('acronis_open_activities')})", "{{activity_type}}"),),
        ),
        Panel(
            "Completed activities by result",
            "Activities completed per minute, by result code.",
            "cpm",
            (Target(per_minute("acronis_activities_completed_total", "result_code"), "{{result_code}}"),),
            stacked=True,
        ),
        Panel(
            "Activity run time",
            "Percentiles of the run time of the activities completed in each interval.",
            "s",
            quantiles("acronis_activity_duration_seconds"),
        ),
        Panel(
            "Completed activities the API retains",
            "Completed activities the API still returns, per result code (lod=count). It depends "
            "on Acronis retention: use it to reconcile, not for rates.",
            "short",
            (
                Target(
                    f"sum by (result_code) ({metric('acronis_activities_completed_retained')})",
                    "{{result_code}}",
                ),
            ),
            kind="bargauge",
            width=24,
            height=6,
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
