"""The metric catalogue: every family's name, type, HELP, labels and buckets, in one place.

Data families (``acronis_*``) are rendered from the poll snapshot by the collector and
are cached: their HELP says so, and no sample carries a timestamp (Prometheus "Writing
exporters": expensive data may be cached if HELP says so). The exporter's own activity
(``acronis_exporter_*``) is instrumented directly (selfmetrics.py), which the same guide allows.
"""

from __future__ import annotations

from typing import Final

from exporter.catalogue_astra import ASTRA_CACHED, ASTRA_UP
from exporter.metric_spec import CACHED, MetricSpec, MetricType
from exporter.metric_spec import cached as _cached
from exporter.outcome_specs import LAST_OUTCOMES, WINDOW
from exporter.vocabulary import OTHER, UNKNOWN

# A second to two hours: where most task run times and queue waits fall. Each histogram
# then reaches a day, by the steps that suit its own long tail.
_UP_TO_TWO_HOURS: Final = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)
# Task run times span seconds (scans) to a day (first full backups of big machines).
DURATION_BUCKETS: Final = (*_UP_TO_TWO_HOURS, 14400.0, 28800.0, 86400.0)
QUEUE_WAIT_BUCKETS: Final = (*_UP_TO_TWO_HOURS, 21600.0, 86400.0)
# Latency of one HTTP request to the API: ten milliseconds to a minute.
API_LATENCY_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# --- Counts from lod=count --------------------------------------------------------------
TASKS = _cached(
    "acronis_tasks",
    "gauge",
    "Tasks per state (lod=count). 'completed' is what the API still retains: never rate() it.",
    "state",
)
TASKS_COMPLETED_RETAINED = _cached(
    "acronis_tasks_completed_retained",
    "gauge",
    "Completed tasks the API still retains, per result code (lod=count). Depends on retention: "
    "use acronis_tasks_completed_total for rates.",
    "result_code",
)
QUEUE_OPEN_TASKS = _cached(
    "acronis_queue_open_tasks",
    "gauge",
    f'Tasks not yet completed per queue (lod=count); queue="{OTHER}" holds the queues without a '
    "series of their own (all open tasks minus the counted queues).",
    "queue",
)
ACTIVITIES = _cached(
    "acronis_activities",
    "gauge",
    "Activities per state (lod=count). 'completed' is what the API still retains.",
    "state",
)
ACTIVITIES_COMPLETED_RETAINED = _cached(
    "acronis_activities_completed_retained",
    "gauge",
    "Completed activities the API still retains, per result code (lod=count).",
    "result_code",
)

# --- Breakdown of open work, from the paginated listing ----------------------------------
OPEN_TASKS = _cached(
    "acronis_open_tasks",
    "gauge",
    "Tasks not yet completed, by state, queue, tenant_id, task_type and priority.",
    "state",
    "queue",
    "tenant_id",
    "task_type",
    "priority",
)
TASK_OLDEST = _cached(
    "acronis_task_oldest_timestamp_seconds",
    "gauge",
    "Oldest open task per state and queue: its startedAt for state started, its enqueuedAt "
    "for enqueued, assigned and paused. Alert on time() minus this.",
    "state",
    "queue",
)
TASKS_BLOCKED = _cached(
    "acronis_tasks_blocked",
    "gauge",
    "Open tasks with blockers (waiting for a person to answer), by queue and tenant_id.",
    "queue",
    "tenant_id",
)
TASKS_CANCEL_REQUESTED = _cached(
    "acronis_tasks_cancel_requested",
    "gauge",
    "Open tasks whose cancellation was requested but not yet done, by queue.",
    "queue",
)
TASKS_REASSIGNED = _cached(
    "acronis_tasks_reassigned",
    "gauge",
    "Open tasks assigned more than once (assignCount > 1), by queue.",
    "queue",
)
OPEN_ACTIVITIES = _cached(
    "acronis_open_activities",
    "gauge",
    "Activities not yet completed, by state, tenant_id and activity_type.",
    "state",
    "tenant_id",
    "activity_type",
)
TENANT_INFO = _cached(
    "acronis_tenant_info",
    "gauge",
    "Tenants seen in the listings, by tenant_id with tenant_name, locator, tenant_uuid and "
    f'parent_tenant_id; also rows for the folded bucket tenant_id="{OTHER}" and for '
    f'tenant_id="{UNKNOWN}", so joins on tenant_id keep them. Always 1.',
    "tenant_id",
    "tenant_name",
    "locator",
    "tenant_uuid",
    "parent_tenant_id",
)

# --- Completions, counted exactly from the incremental listing ---------------------------
TASKS_COMPLETED = _cached(
    "acronis_tasks_completed",
    "counter",
    "Tasks that completed since the exporter started, by tenant_id, queue, task_type and result_code.",
    "tenant_id",
    "queue",
    "task_type",
    "result_code",
)
ACTIVITIES_COMPLETED = _cached(
    "acronis_activities_completed",
    "counter",
    "Activities that completed since the exporter started, by tenant_id, activity_type and result_code.",
    "tenant_id",
    "activity_type",
    "result_code",
)
TASK_DURATION = _cached(
    "acronis_task_duration_seconds",
    "histogram",
    "Run time of completed tasks, startedAt to completedAt, by queue and result_code.",
    "queue",
    "result_code",
)
TASK_QUEUE_WAIT = _cached(
    "acronis_task_queue_wait_seconds",
    "histogram",
    "Queue wait of completed tasks, enqueuedAt to startedAt, by queue.",
    "queue",
)
ACTIVITY_DURATION = _cached(
    "acronis_activity_duration_seconds",
    "histogram",
    "Run time of completed activities, startedAt to completedAt, by result_code.",
    "result_code",
)
ASTRA_TASKS, ASTRA_OPEN_TASKS, ASTRA_OLDEST, ASTRA_FINISHED, ASTRA_DURATION = (
    _cached(*s) for s in ASTRA_CACHED
)
ASTRA_UP_SPEC = MetricSpec(*ASTRA_UP)  # NetApp Astra Control (catalogue_astra.py, sources/astra.py)
RESOURCE_LAST_COMPLETION, RESOURCE_INFO, POLICY_LAST_COMPLETION, POLICY_INFO = (
    _cached(*f) for f in LAST_OUTCOMES
)
TASKS_COMPLETED_WINDOW = _cached(*WINDOW)

# --- Poll status, rendered from the snapshot ----------------------------------------------
UP = MetricSpec("acronis_up", "gauge", "1 if the last poll refreshed every Acronis source, 0 otherwise.")
SOURCE_UP = MetricSpec(
    "acronis_exporter_source_up",
    "gauge",
    "1 if the source refreshed in the last poll, 0 if it kept its last good values; by source.",
    ("source",),
)
SOURCE_LAST_SUCCESS = MetricSpec(
    "acronis_exporter_last_success_timestamp_seconds",
    "gauge",
    "When the source last refreshed successfully, by source.",
    ("source",),
)
SOURCE_DURATION = MetricSpec(
    "acronis_exporter_refresh_duration_seconds",
    "gauge",
    "How long the source took in the last poll, by source.",
    ("source",),
)
WATERMARK = MetricSpec(
    "acronis_exporter_watermark_timestamp_seconds",
    "gauge",
    "completedAt up to which completions have been counted, by kind (tasks, activities).",
    ("kind",),
)
TENANTS_FOLDED = MetricSpec(
    "acronis_exporter_tenants_folded",
    "gauge",
    f'Tenants whose series were folded into tenant_id="{OTHER}" by the tenant cap.',
)
LABEL_VALUES_FOLDED = MetricSpec(
    "acronis_exporter_label_values_folded",
    "gauge",
    f'Distinct values of each capped label folded into "{OTHER}" in the last poll, by label.',
    ("label",),
)
POLL_INTERVAL = MetricSpec(
    "acronis_exporter_poll_interval_seconds",
    "gauge",
    "Configured time between polls; make staleness alerts relative to it.",
)
ITEMS_SKIPPED = MetricSpec(
    "acronis_exporter_items_skipped",
    "counter",
    "Listed items the exporter could not use (missing or invalid fields), by source and reason.",
    ("source", "reason"),
)

# --- Direct instrumentation of the exporter's own work (see SelfMetrics) ------------------
REFRESHES = MetricSpec(
    "acronis_exporter_refreshes", "counter", "Source refreshes attempted, by source.", ("source",)
)
REFRESH_FAILURES = MetricSpec(
    "acronis_exporter_refresh_failures",
    "counter",
    "Source refreshes that failed, by source and reason.",
    ("source", "reason"),
)
API_REQUESTS = MetricSpec(
    "acronis_exporter_api_requests",
    "counter",
    "HTTP requests sent to the Acronis API, by endpoint and status code.",
    ("endpoint", "code"),
)
API_REQUEST_FAILURES = MetricSpec(
    "acronis_exporter_api_request_failures",
    "counter",
    "HTTP requests that failed, by endpoint and reason.",
    ("endpoint", "reason"),
)
API_REQUEST_DURATION = MetricSpec(
    "acronis_exporter_api_request_duration_seconds",
    "histogram",
    "Latency of HTTP requests to the Acronis API, by endpoint.",
    ("endpoint",),
)
API_RETRIES = MetricSpec(
    "acronis_exporter_api_retries",
    "counter",
    "Requests retried, by endpoint and reason.",
    ("endpoint", "reason"),
)
API_THROTTLED = MetricSpec(
    "acronis_exporter_api_throttled_seconds", "counter", "Time spent waiting as told by Retry-After."
)
TOKEN_REQUESTS = MetricSpec(
    "acronis_exporter_token_requests",
    "counter",
    "Access tokens requested (first token and renewals), by grant_type.",
    ("grant_type",),
)
TOKEN_REQUEST_FAILURES = MetricSpec(
    "acronis_exporter_token_request_failures",
    "counter",
    "Access token requests that failed, by grant_type and reason.",
    ("grant_type", "reason"),
)
TOKEN_EXPIRY = MetricSpec(
    "acronis_exporter_token_expiry_timestamp_seconds", "gauge", "When the cached access token expires."
)
POLL_CRASHES = MetricSpec(
    "acronis_exporter_poll_crashes",
    "counter",
    "Polls that ended in an unexpected error (a bug); polling goes on.",
)
RENDER_FAILURES = MetricSpec(
    "acronis_exporter_render_failures",
    "counter",
    "Families left out of an exposition because rendering them failed (a bug), by metric.",
    ("metric",),
)
BUILD_INFO = MetricSpec(
    "acronis_exporter_build_info",
    "gauge",
    "Build of the exporter, by version, revision and python_version. Always 1.",
    ("version", "revision", "python_version"),
)

# Every family in the order above, which is the order /metrics shows them in (families.py).
__all__ = ["CACHED", "MetricSpec", "MetricType"]  # re-exported: every family is a catalogue entry

ALL: Final = tuple(value for value in tuple(globals().values()) if isinstance(value, MetricSpec))
