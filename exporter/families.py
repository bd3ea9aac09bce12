"""One builder per data family, so that a family failing to render costs only itself.

Rules applied here, not in the poller:

* ``acronis_tasks`` and ``acronis_activities`` show every state (0 if none) once their
  source succeeded; ``acronis_open_tasks``/``acronis_open_activities`` show every open state
  for each group of the other labels that has any open item.
* Labels named in ``snapshot.dropped_labels`` disappear from every family's label list
  (the snapshot already holds ``""`` at their key position; equal keys are merged).
* Capped labels fold into ``__other__``, which ``acronis_tenant_info`` and
  ``acronis_queue_open_tasks`` name too: no family loses what was folded.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Final

from exporter import catalogue
from exporter.rendering import by_one, every, every_open_state, floats, histogram, keyed, simple
from exporter.snapshot import HistogramData
from exporter.vocabulary import OPEN_STATES, OTHER, RESULT_CODES, TASK_STATES, UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.snapshot import Completions, OpenTasks, Snapshot, SourceStatus

    Key = tuple[str, ...]
    Builder = Callable[[Snapshot], Metric]

# --- data families ----------------------------------------------------------------------

FOLDED_TENANT_NAME: Final = "(folded: tenants beyond --metrics.max-tenants)"
UNKNOWN_TENANT_NAME: Final = "(unknown: items that name no tenant)"


def _tasks(snapshot: Snapshot) -> Metric:
    counts = snapshot.task_counts
    return simple(catalogue.TASKS, every(TASK_STATES, counts.by_state) if counts else {})


def _tasks_retained(snapshot: Snapshot) -> Metric:
    counts = snapshot.task_counts
    values = every(RESULT_CODES, counts.completed_by_result) if counts else {}
    return simple(catalogue.TASKS_COMPLETED_RETAINED, values)


def _queue_open_tasks(snapshot: Snapshot) -> Metric:
    """Open tasks per counted queue, and the rest under ``__other__``, so the sum is every open task."""
    if (counts := snapshot.task_counts) is None:
        return simple(catalogue.QUEUE_OPEN_TASKS, {}, snapshot.dropped_labels)
    queues = {(queue,): float(n) for queue, n in counts.open_by_queue.items()}
    open_total = sum(counts.by_state.get(state, 0) for state in OPEN_STATES)
    # Counted a moment apart, the parts may exceed the total by a few: never show a negative.
    queues[OTHER,] = queues.get((OTHER,), 0.0) + max(open_total - sum(queues.values()), 0.0)
    return simple(catalogue.QUEUE_OPEN_TASKS, queues, snapshot.dropped_labels)


def _activities(snapshot: Snapshot) -> Metric:
    counts = snapshot.activity_counts
    return simple(catalogue.ACTIVITIES, every(TASK_STATES, counts.by_state) if counts else {})


def _activities_retained(snapshot: Snapshot) -> Metric:
    counts = snapshot.activity_counts
    values = every(RESULT_CODES, counts.completed_by_result) if counts else {}
    return simple(catalogue.ACTIVITIES_COMPLETED_RETAINED, values)


def _open_tasks_part(spec: catalogue.MetricSpec, part: Callable[[OpenTasks], Mapping[Key, float]]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        tasks = snapshot.open_tasks
        merge = min if spec is catalogue.TASK_OLDEST else operator.add
        return simple(spec, part(tasks) if tasks else {}, snapshot.dropped_labels, merge)

    return build


def _open_activities(snapshot: Snapshot) -> Metric:
    activities = snapshot.open_activities
    values = every_open_state(activities.by_group) if activities else {}
    return simple(catalogue.OPEN_ACTIVITIES, values, snapshot.dropped_labels)


def _tenant_info(snapshot: Snapshot) -> Metric:
    """Every labelled tenant, plus rows for ``__other__`` and ``unknown`` so that joins keep them."""
    if "tenant_id" in snapshot.dropped_labels or not snapshot.sources:  # no poll, or nothing to join on
        return simple(catalogue.TENANT_INFO, {})
    info = {(t.id, t.name, t.locator, t.uuid, t.parent_id): 1.0 for t in snapshot.tenants.values()}
    info[OTHER, FOLDED_TENANT_NAME, "", "", ""] = 1.0
    info[UNKNOWN, UNKNOWN_TENANT_NAME, "", "", ""] = 1.0
    return simple(catalogue.TENANT_INFO, info, merge=max)


def _completion_counter(
    spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, int]]
) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.completions
        return simple(spec, floats(part(done)) if done else {}, snapshot.dropped_labels)

    return build


def _completion_histogram(
    spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, HistogramData]]
) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.completions
        return histogram(spec, part(done) if done else {}, snapshot.dropped_labels)

    return build


def _activity_duration(done: Completions) -> Mapping[Key, HistogramData]:
    """Every result code from the start (a closed vocabulary), 0 until one completes with it."""
    empty = HistogramData(catalogue.DURATION_BUCKETS, (0,) * (len(catalogue.DURATION_BUCKETS) + 1), 0.0)
    series: dict[Key, HistogramData] = {(code,): empty for code in RESULT_CODES}
    series.update(keyed(done.activity_duration))
    return series


# --- poll status -----------------------------------------------------------------------


def _up(snapshot: Snapshot) -> Metric:
    return simple(catalogue.UP, {(): 1.0 if snapshot.up else 0.0})


def _by_source(spec: catalogue.MetricSpec, value: Callable[[SourceStatus], float | None]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        values = {(s.name,): value(s) for s in snapshot.sources.values()}
        return simple(spec, {key: v for key, v in values.items() if v is not None})

    return build


def _watermark(snapshot: Snapshot) -> Metric:
    done = snapshot.completions
    return simple(catalogue.WATERMARK, by_one(done.watermarks) if done else {})


def _tenants_folded(snapshot: Snapshot) -> Metric:
    # Before the first poll there is nothing to have folded: no series rather than a false 0.
    return simple(catalogue.TENANTS_FOLDED, {(): float(snapshot.tenants_folded)} if snapshot.sources else {})


def _label_values_folded(snapshot: Snapshot) -> Metric:
    folded = by_one(snapshot.label_values_folded) if snapshot.sources else {}
    return simple(catalogue.LABEL_VALUES_FOLDED, folded)


def _poll_interval(snapshot: Snapshot) -> Metric:
    interval = snapshot.poll_interval_seconds
    return simple(catalogue.POLL_INTERVAL, {(): interval} if interval > 0 else {})  # 0: not from a poller


FAMILIES: tuple[tuple[catalogue.MetricSpec, Builder], ...] = (
    (catalogue.TASKS, _tasks),
    (catalogue.TASKS_COMPLETED_RETAINED, _tasks_retained),
    (catalogue.QUEUE_OPEN_TASKS, _queue_open_tasks),
    (catalogue.ACTIVITIES, _activities),
    (catalogue.ACTIVITIES_COMPLETED_RETAINED, _activities_retained),
    (catalogue.OPEN_TASKS, _open_tasks_part(catalogue.OPEN_TASKS, lambda t: every_open_state(t.by_group))),
    (catalogue.TASK_OLDEST, _open_tasks_part(catalogue.TASK_OLDEST, lambda t: keyed(t.oldest))),
    (
        catalogue.TASKS_BLOCKED,
        _open_tasks_part(catalogue.TASKS_BLOCKED, lambda t: floats(keyed(t.blocked))),
    ),
    (
        catalogue.TASKS_CANCEL_REQUESTED,
        _open_tasks_part(catalogue.TASKS_CANCEL_REQUESTED, lambda t: by_one(t.cancel_requested)),
    ),
    (
        catalogue.TASKS_REASSIGNED,
        _open_tasks_part(catalogue.TASKS_REASSIGNED, lambda t: by_one(t.reassigned)),
    ),
    (catalogue.OPEN_ACTIVITIES, _open_activities),
    (catalogue.TENANT_INFO, _tenant_info),
    (catalogue.TASKS_COMPLETED, _completion_counter(catalogue.TASKS_COMPLETED, lambda d: keyed(d.tasks))),
    (
        catalogue.ACTIVITIES_COMPLETED,
        _completion_counter(catalogue.ACTIVITIES_COMPLETED, lambda d: keyed(d.activities)),
    ),
    (
        catalogue.TASK_DURATION,
        _completion_histogram(catalogue.TASK_DURATION, lambda d: keyed(d.task_duration)),
    ),
    (
        catalogue.TASK_QUEUE_WAIT,
        _completion_histogram(catalogue.TASK_QUEUE_WAIT, lambda d: keyed(d.task_queue_wait)),
    ),
    (catalogue.ACTIVITY_DURATION, _completion_histogram(catalogue.ACTIVITY_DURATION, _activity_duration)),
    (catalogue.UP, _up),
    (catalogue.SOURCE_UP, _by_source(catalogue.SOURCE_UP, lambda s: float(s.ok))),
    (catalogue.SOURCE_LAST_SUCCESS, _by_source(catalogue.SOURCE_LAST_SUCCESS, lambda s: s.last_success)),
    (catalogue.SOURCE_DURATION, _by_source(catalogue.SOURCE_DURATION, lambda s: s.duration_seconds)),
    (catalogue.WATERMARK, _watermark),
    (catalogue.TENANTS_FOLDED, _tenants_folded),
    (catalogue.LABEL_VALUES_FOLDED, _label_values_folded),
    (catalogue.POLL_INTERVAL, _poll_interval),
    (
        catalogue.ITEMS_SKIPPED,
        lambda snapshot: simple(catalogue.ITEMS_SKIPPED, floats(snapshot.items_skipped)),
    ),
)
