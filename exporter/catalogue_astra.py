"""The NetApp Astra Control families' names, types, HELP and labels, as plain data.

``catalogue.py`` turns them into its ``MetricSpec`` entries (ASTRA_*), in exposition order;
they live here so that the catalogue stays one short module. Data only: no imports.
"""

from __future__ import annotations

from typing import Final

_ACCOUNT: Final = "account_id"
ASTRA_CACHED: Final = (
    ("astra_control_tasks", "gauge", "Astra Control tasks the API lists, per state (every state).",
     _ACCOUNT, "state"),
    ("astra_control_open_tasks", "gauge",
     "Astra Control tasks not yet completed, failed or cancelled, by task name and state.",
     _ACCOUNT, "name", "state"),
    ("astra_control_oldest_open_task_start_timestamp_seconds", "gauge",
     ("Start time (startTime, else creation) of the oldest running or notStarted task per name. "
     "Alert on time() - x."), _ACCOUNT, "name", "state"),
    ("astra_control_tasks_finished", "counter",
     ("Astra Control tasks that reached completed, failed or cancelled since the exporter started, "
     "each counted once."), _ACCOUNT, "name", "state"),
    ("astra_control_task_duration_seconds", "histogram",
     "Run time of finished Astra Control tasks, startTime to endTime.", _ACCOUNT, "name", "state"),
)  # fmt: skip
ASTRA_UP: Final = (
    "astra_control_up",
    "gauge",
    "1 if the last poll refreshed every Astra Control source, 0 otherwise.",
)
