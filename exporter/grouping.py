"""The cumulative completion totals both completion sources add to, and their frozen result.

``cardinality.Labeler`` is applied here as in each source's ``fold``: tenants are filtered,
surplus values fold into ``__other__`` and unset values read ``unknown`` (dropped labels
are left to rendering). It runs on the poller's own thread, so the labeler's choices are
made in one order.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from exporter.catalogue import (
    ACTIVITIES_COMPLETED,
    ACTIVITY_DURATION,
    DURATION_BUCKETS,
    QUEUE_WAIT_BUCKETS,
    TASK_DURATION,
    TASK_QUEUE_WAIT,
    TASKS_COMPLETED,
)
from exporter.labels import series
from exporter.models import ActivityItem, TaskItem
from exporter.snapshot import HistogramData

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from exporter.cardinality import Labeler
    from exporter.labels import Key
    from exporter.metric_spec import MetricSpec

K = TypeVar("K")


@dataclass(frozen=True)
class Completions:
    """The result of a completion source: the totals since the exporter started, as of its fold."""

    tasks: Mapping[Key, int]  # series of catalogue.TASKS_COMPLETED
    task_duration: Mapping[Key, HistogramData]  # of TASK_DURATION
    task_queue_wait: Mapping[Key, HistogramData]  # of TASK_QUEUE_WAIT
    activities: Mapping[Key, int]  # of ACTIVITIES_COMPLETED
    activity_duration: Mapping[Key, HistogramData]  # of ACTIVITY_DURATION
    watermarks: Mapping[str, float]  # "tasks" / "activities" -> completedAt counted up to


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
        self._tasks: Counter[Key] = Counter()  # keys of catalogue.TASKS_COMPLETED, and so on
        self._activities: Counter[Key] = Counter()
        self._task_duration: dict[Key, _Histogram] = {}
        self._task_queue_wait: dict[Key, _Histogram] = {}
        self._activity_duration: dict[Key, _Histogram] = {}
        # Each series' key, built once: a poll at 50 completions/s builds three per task.
        # Bounded by the series these totals keep anyway.
        self._keys: dict[tuple[str, ...], Key] = {}

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
            task_type = labeler.value("task_type", item.type)
            key = self._key(
                TASKS_COMPLETED, tenant_id=tenant, queue=queue, task_type=task_type, result_code=result
            )
            self._tasks[key] += 1
        run_time = _elapsed(item.started_at, item.completed_at)
        if run_time is not None:
            key = self._key(TASK_DURATION, queue=queue, result_code=result)
            _series(self._task_duration, key, DURATION_BUCKETS).observe(run_time)
        wait = _elapsed(item.enqueued_at, item.started_at)
        if wait is not None:
            key = self._key(TASK_QUEUE_WAIT, queue=queue)
            _series(self._task_queue_wait, key, QUEUE_WAIT_BUCKETS).observe(wait)

    def _add_activity(self, item: ActivityItem, labeler: Labeler) -> None:
        result = item.result_code or ""
        tenant = labeler.tenant(item.tenant)
        if tenant is not None:
            activity_type = labeler.value("activity_type", item.type)
            key = self._key(
                ACTIVITIES_COMPLETED, tenant_id=tenant, activity_type=activity_type, result_code=result
            )
            self._activities[key] += 1
        run_time = _elapsed(item.started_at, item.completed_at)
        if run_time is not None:
            key = self._key(ACTIVITY_DURATION, result_code=result)
            _series(self._activity_duration, key, DURATION_BUCKETS).observe(run_time)

    def _key(self, spec: MetricSpec, **values: str) -> Key:
        """Return ``series(spec, **values)``, built once per spec, label names and values."""
        cached = (spec.name, *values, *values.values())
        key = self._keys.get(cached)
        if key is None:
            key = self._keys[cached] = series(spec, **values)
        return key

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
