"""From raw aggregates to the snapshot's labelled parts, and the cumulative completion totals.

This is where ``cardinality.Labeler`` is applied: tenants are filtered (a dropped tenant is
left out of tenant-labelled families only), surplus values fold into ``__other__``,
unset values read ``unknown`` and dropped dimensions ``""``. Everything here runs on the
poller's own thread, so the labeler's sticky choices are made in one order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from typing import TYPE_CHECKING, TypeVar

from exporter.catalogue import DURATION_BUCKETS, QUEUE_WAIT_BUCKETS
from exporter.models import ActivityItem, TaskItem
from exporter.snapshot import Completions, HistogramData, OpenActivities, OpenTasks

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from exporter.cardinality import Labeler
    from exporter.sources import OpenActivityScan, OpenTaskScan

K = TypeVar("K", bound=tuple[str, ...])


def open_work_weights(
    tasks: OpenTaskScan | None, activities: OpenActivityScan | None, labeler: Labeler
) -> dict[str, Counter[str]]:
    """Open items per raw value of each capped label: what seeds the caps on the first poll.

    Tenants the filter drops are left out, so they cannot take a slot they would never use.
    """
    weights: dict[str, Counter[str]] = {
        name: Counter() for name in ("tenant_id", "queue", "task_type", "activity_type")
    }
    kept = labeler.tenant_filter.keeps
    if tasks is not None:
        for (_, queue, tenant, task_type, _), n in tasks.groups.items():
            weights["tenant_id"][tenant] += n if kept(tasks.tenants.get(tenant)) else 0
            weights["queue"][queue] += n
            weights["task_type"][task_type] += n
    if activities is not None:
        for (_, tenant, activity_type), n in activities.groups.items():
            weights["tenant_id"][tenant] += n if kept(activities.tenants.get(tenant)) else 0
            weights["activity_type"][activity_type] += n
    return {name: +counts for name, counts in weights.items()}  # unary +: drop the zeros


def label_open_tasks(scan: OpenTaskScan, labeler: Labeler) -> OpenTasks:
    """Label one walk of open tasks."""
    by_group: Counter[tuple[str, str, str, str, str]] = Counter()
    for (state, queue, tenant, task_type, priority), n in scan.groups.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            key = (
                state,
                labeler.value("queue", queue),
                tenant_label,
                labeler.value("task_type", task_type),
                labeler.value("priority", priority),
            )
            by_group[key] += n
    oldest: dict[tuple[str, str], float] = {}
    for (state, queue), since in scan.oldest.items():
        where = (state, labeler.value("queue", queue))
        oldest[where] = min(since, oldest.get(where, since))
    blocked: Counter[tuple[str, str]] = Counter()
    for (queue, tenant), n in scan.blocked.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            blocked[labeler.value("queue", queue), tenant_label] += n
    return OpenTasks(
        by_group=dict(by_group),
        oldest=oldest,
        blocked=dict(blocked),
        cancel_requested=_per_queue(scan.cancel_requested, labeler),
        reassigned=_per_queue(scan.reassigned, labeler),
    )


def label_open_activities(scan: OpenActivityScan, labeler: Labeler) -> OpenActivities:
    """Label one walk of open activities."""
    by_group: Counter[tuple[str, str, str]] = Counter()
    for (state, tenant, activity_type), n in scan.groups.items():
        tenant_label = labeler.tenant(scan.tenants.get(tenant))
        if tenant_label is not None:
            by_group[state, tenant_label, labeler.value("activity_type", activity_type)] += n
    return OpenActivities(by_group=dict(by_group))


def _per_queue(counts: Mapping[str, int], labeler: Labeler) -> dict[str, int]:
    labelled: Counter[str] = Counter()
    for queue, n in counts.items():
        labelled[labeler.value("queue", queue)] += n
    return dict(labelled)


class _Histogram:
    """Observations of one series: per-bucket counts (``le`` upper bounds, +Inf last) and sum."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self._counts = [0] * (len(bounds) + 1)
        self._total = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect_left(self._bounds, value)] += 1  # first bound >= value: `le` semantics
        self._total += value

    def freeze(self) -> HistogramData:
        return HistogramData(self._bounds, tuple(self._counts), self._total)


class CompletionTotals:
    """Completion counters and histograms since the exporter started; they only ever grow."""

    def __init__(self) -> None:
        self._tasks: Counter[tuple[str, str, str, str]] = Counter()
        self._activities: Counter[tuple[str, str, str]] = Counter()
        self._task_duration: dict[tuple[str, str], _Histogram] = {}
        self._task_queue_wait: dict[tuple[str], _Histogram] = {}
        self._activity_duration: dict[tuple[str], _Histogram] = {}

    def add(self, items: Iterable[TaskItem | ActivityItem], labeler: Labeler) -> None:
        """Count completed items (each exactly once: the tracker guarantees it)."""
        for item in items:
            if isinstance(item, TaskItem):
                self._add_task(item, labeler)
            else:
                self._add_activity(item, labeler)

    def _add_task(self, item: TaskItem, labeler: Labeler) -> None:
        queue = labeler.value("queue", item.queue)
        result = item.result_code or ""
        tenant = labeler.tenant(item.tenant)
        if tenant is not None:
            self._tasks[tenant, queue, labeler.value("task_type", item.type), result] += 1
        run_time = _elapsed(item.started_at, item.completed_at)
        if run_time is not None:
            _series(self._task_duration, (queue, result), DURATION_BUCKETS).observe(run_time)
        wait = _elapsed(item.enqueued_at, item.started_at)
        if wait is not None:
            _series(self._task_queue_wait, (queue,), QUEUE_WAIT_BUCKETS).observe(wait)

    def _add_activity(self, item: ActivityItem, labeler: Labeler) -> None:
        result = item.result_code or ""
        tenant = labeler.tenant(item.tenant)
        if tenant is not None:
            self._activities[tenant, labeler.value("activity_type", item.type), result] += 1
        run_time = _elapsed(item.started_at, item.completed_at)
        if run_time is not None:
            _series(self._activity_duration, (result,), DURATION_BUCKETS).observe(run_time)

    def freeze(self, watermarks: Mapping[str, float]) -> Completions:
        """Return an immutable copy for a snapshot."""
        return Completions(
            tasks=dict(self._tasks),
            task_duration={key: series.freeze() for key, series in self._task_duration.items()},
            task_queue_wait={key: series.freeze() for key, series in self._task_queue_wait.items()},
            activities=dict(self._activities),
            activity_duration={key: series.freeze() for key, series in self._activity_duration.items()},
            watermarks=dict(watermarks),
        )


def _series(series: dict[K, _Histogram], key: K, bounds: tuple[float, ...]) -> _Histogram:
    if key not in series:
        series[key] = _Histogram(bounds)
    return series[key]


def _elapsed(start: float | None, end: float | None) -> float | None:
    """Return ``end - start`` when both are known and in order, else None."""
    if start is None or end is None or end < start:
        return None
    return end - start
