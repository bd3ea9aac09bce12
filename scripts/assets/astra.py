"""The NetApp Astra Control dashboard: the tasks of the opt-in ``astra_tasks`` source.

The same questions as the Acronis overview, asked of Astra Control's backups, snapshots,
restores and clones: is Astra polled, what runs now, what is stuck, how many fail, how
long they take. The stuck and failure-ratio panels use the thresholds of
grafana/alerts/astra.rules.yaml, so a red panel and a firing alert agree.
"""

from __future__ import annotations

from scripts.assets.grafana import Dashboard, Panel, Row, Target, metric
from scripts.assets.health import up_or_failing
from scripts.assets.panels import (
    ALERT_IF_ANY,
    FAILURE_RATIO_THRESHOLDS,
    RATE,
    per_minute,
    quantiles,
    share,
    stat,
    sum_by,
)
from scripts.assets.variables import scope_variables

FINISHED = "astra_control_tasks_finished_total"
DURATION = "astra_control_task_duration_seconds"
OLDEST = "astra_control_oldest_open_task_start_timestamp_seconds"
ASTRA_FAILED = 'state="failed"'
STUCK_AFTER = 21600  # seconds; AstraTaskStuck's threshold
OLDEST_AGE = f"time() - max by (account_id, name, state) ({metric(OLDEST)})"


def finished_failure_ratio(by: str, window: str) -> str:
    """Share of the tasks that finished in ``window`` which ended failed, per ``by``."""
    failed = f"sum by ({by}) (increase({metric(FINISHED, ASTRA_FAILED)}{window}))"
    return share(failed, f"sum by ({by}) (increase({metric(FINISHED)}{window}))")


NOW = Row(
    "Astra Control now",
    (
        up_or_failing(
            "Astra Control polled",
            "Whether the last poll listed Astra Control's tasks (astra_control_up). Failing: the "
            "values below are the last good ones. Acronis sources are judged apart (acronis_up).",
            "astra_control_up",
        ),
        Panel(
            "Tasks by state",
            "Tasks Astra Control lists right now, per state: open ones and the finished ones it still keeps.",
            "short",
            (sum_by("state", metric("astra_control_tasks")),),
            kind="stat",
            width=12,
            height=5,
        ),
        stat(
            "Stuck for over 6 hours",
            "Task names whose oldest running or notStarted task started (or was created) more "
            "than 6 hours ago: the AstraTaskStuck alert's condition.",
            "short",
            Target(f"count({OLDEST_AGE} > {STUCK_AFTER}) or vector(0)"),
            width=4,
            thresholds=ALERT_IF_ANY,
            no_value="0",
        ),
        stat(
            "Failed, last hour",
            "Share of the tasks finished in the last hour that ended failed (cancelled counts "
            "as finished, not failed). The AstraTaskFailureRatioHigh alert fires above 10%.",
            "percentunit",
            Target(finished_failure_ratio("job", "[1h]")),
            width=4,
            thresholds=FAILURE_RATIO_THRESHOLDS,
            no_value="0",
        ),
    ),
)

FINISHING = Row(
    "Finished tasks",
    (
        Panel(
            "Finished per minute",
            "Tasks reaching completed, failed or cancelled, per minute, stacked by final state. "
            "Each task is counted once, when the exporter first sees it finished.",
            "cpm",
            (Target(per_minute(FINISHED, "state"), "{{state}}"),),
            stacked=True,
        ),
        Panel(
            "Failure ratio by task name",
            "Per task name, the share of finished tasks that ended failed over the interval.",
            "percentunit",
            (Target(finished_failure_ratio("account_id, name", RATE), "{{name}}"),),
            thresholds=FAILURE_RATIO_THRESHOLDS,
            no_value="0",
        ),
    ),
)

OPEN = Row(
    "Open and stuck tasks",
    (
        Panel(
            "Open tasks by name and state",
            "Tasks not yet completed, failed or cancelled, per task name and state.",
            "short",
            (Target(f"sum by (name, state) ({metric('astra_control_open_tasks')})", "{{name}} {{state}}"),),
            stacked=True,
        ),
        Panel(
            "Age of the oldest running or notStarted task",
            "Per task name and state, how long ago the oldest open task started (or was "
            "created); the oldest first. Over 6 hours reads as stuck.",
            "s",
            (Target(f"sort_desc({OLDEST_AGE})", instant=True, format="table"),),
            kind="table",
            thresholds=((None, "green"), (STUCK_AFTER, "red")),
            hidden_columns=("Time",),
        ),
    ),
)

RUN_TIME = Row(
    "Run time",
    (
        Panel(
            "Run time percentiles",
            "p50, p90 and p99 of the run time (startTime to endTime) of the tasks finished in "
            "each interval, from the duration histogram.",
            "s",
            quantiles(f"{DURATION}"),
        ),
        Panel(
            "Average run time by task name",
            "Mean run time of the tasks of each name that finished in the interval.",
            "s",
            (
                Target(
                    f"sum by (name) (rate({metric(DURATION + '_sum')}{RATE}))"
                    f" / sum by (name) (rate({metric(DURATION + '_count')}{RATE}))",
                    "{{name}}",
                ),
            ),
        ),
    ),
)

ASTRA = Dashboard(
    uid="astra-control-tasks",
    title="NetApp Astra Control / Tasks",
    description="NetApp Astra Control's tasks (backups, snapshots, restores, clones), from "
    "acronis-task-exporter's astra_tasks source (--astra.url): polled or not, open and stuck "
    "tasks, failures and run time.",
    rows=(NOW, FINISHING, OPEN, RUN_TIME),
    variables=scope_variables(),
    tags=("acronis", "astra-control"),
)
