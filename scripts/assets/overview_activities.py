"""The overview dashboard's activities row: the steps tasks run, by state, type and result."""

from __future__ import annotations

from scripts.assets.grafana import Panel, Row, metric
from scripts.assets.panels import OPEN, completed_by_result, quantiles, retained_by_result, sum_by

ACTIVITIES = Row(
    "Activities",
    (
        Panel(
            "Activities by state",
            "Activities in each open state (lod=count). Activities are the steps tasks run.",
            "short",
            (sum_by("state", metric("acronis_activities", OPEN)),),
            stacked=True,
        ),
        Panel(
            "Open activities by type",
            "Activities not yet completed, by activity type.",
            "short",
            (sum_by("activity_type", metric("acronis_open_activities")),),
        ),
        completed_by_result(
            "Completed activities by result",
            "Activities completed per minute, by result code.",
            "acronis_activities_completed_total",
        ),
        Panel(
            "Activity run time",
            "Percentiles of the run time of the activities completed in each interval.",
            "s",
            quantiles("acronis_activity_duration_seconds"),
        ),
        retained_by_result(
            "Completed activities the API retains",
            "Completed activities the API still returns, per result code (lod=count). It depends "
            "on Acronis retention: use it to reconcile, not for rates.",
            "acronis_activities_completed_retained",
        ),
    ),
)
