"""Render one poll snapshot as Prometheus metric families: the only place data becomes series.

The collector reads ``SnapshotStore.latest`` once per collection, so a scrape always shows
one consistent poll. It does no I/O, puts no timestamps on samples, and never raises: a
family that cannot be rendered is left out and logged, the rest of the scrape goes on.

Rules applied here, not in the poller:

* ``acronis_tasks`` and ``acronis_activities`` show every state (0 if none) once their
  source succeeded; ``acronis_open_tasks``/``acronis_open_activities`` show every open state
  for each group of the other labels that has any open item.
* Labels named in ``snapshot.dropped_labels`` disappear from every family's label list
  (the snapshot already holds ``""`` at their key position; equal keys are merged).
* A family without samples is left out, as the Go client does.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from exporter import logs
from exporter import metrics as m
from exporter.snapshot import HistogramData, Snapshot, SnapshotStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    Key = tuple[str, ...]
    Renderer = Callable[[Snapshot], Iterable[Metric | None]]

log = logs.get_logger(component="collector")

K = TypeVar("K", bound=tuple[str, ...])  # a label-value tuple of any fixed length
# client_python's own formatting of bucket bounds ("1.0", "+Inf"); the library leaves it untyped.
_go_float: Callable[[float], str] = floatToGoString


class TaskManagerCollector:
    """Renders the latest poll snapshot; this is a sample of what it yields.

    ::


    # HELP acronis_tasks Tasks per state (lod=count). ... Cached: refreshed every poll, not on scrape.
    # TYPE acronis_tasks gauge
    acronis_tasks{state="assigned"} 3.0
    acronis_tasks{state="completed"} 1840.0
    acronis_tasks{state="enqueued"} 12.0
    acronis_tasks{state="paused"} 0.0
    acronis_tasks{state="started"} 7.0
    # TYPE acronis_open_tasks gauge
    acronis_open_tasks{queue="backup",state="enqueued",tenant_id="1496265"} 4.0
    # TYPE acronis_tasks_completed counter
    acronis_tasks_completed_total{queue="backup",result_code="ok",tenant_id="1496265"} 25.0
    # TYPE acronis_task_duration_seconds histogram
    acronis_task_duration_seconds_bucket{le="60.0",queue="backup",result_code="ok"} 20.0
    acronis_task_duration_seconds_bucket{le="+Inf",queue="backup",result_code="ok"} 25.0
    acronis_task_duration_seconds_sum{queue="backup",result_code="ok"} 980.5
    acronis_task_duration_seconds_count{queue="backup",result_code="ok"} 25.0
    acronis_up 1.0
    acronis_exporter_source_up{source="task_counts"} 1.0
    acronis_exporter_last_success_timestamp_seconds{source="task_counts"} 1.7e+09
    """

    def __init__(self, store: SnapshotStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        """Yield every family the latest snapshot supports."""
        snapshot = self._store.latest  # read once: one scrape, one consistent view
        for renderer in _RENDERERS:
            try:
                families = list(renderer(snapshot))
            except Exception:  # a rendering bug must cost one family, never the whole scrape
                log.exception("family_render_failed", renderer=renderer.__name__)
                continue
            yield from (family for family in families if family is not None and family.samples)


# --- generic building blocks ------------------------------------------------------------


def _kept(spec: m.MetricSpec, dropped: frozenset[str]) -> tuple[int, ...]:
    return tuple(index for index, label in enumerate(spec.labels) if label not in dropped)


def _project(
    values: Mapping[K, float],
    positions: tuple[int, ...],
    merge: Callable[[float, float], float] = operator.add,
) -> dict[Key, float]:
    projected: dict[Key, float] = {}
    for key, value in values.items():
        short = tuple(key[index] for index in positions)
        projected[short] = merge(projected[short], value) if short in projected else value
    return projected


def _simple(
    spec: m.MetricSpec,
    values: Mapping[K, float],
    dropped: frozenset[str] = frozenset(),
    merge: Callable[[float, float], float] = operator.add,
) -> Metric:
    """Build a gauge or counter family from label-value tuples (in ``spec.labels`` order)."""
    positions = _kept(spec, dropped)
    labels = [spec.labels[index] for index in positions]
    family: Metric = (
        CounterMetricFamily(spec.name, spec.help, labels=labels)
        if spec.type == "counter"
        else GaugeMetricFamily(spec.name, spec.help, labels=labels)
    )
    for key, value in sorted(_project(values, positions, merge).items()):
        family.add_metric(list(key), value)  # type: ignore[attr-defined]
    return family


def _merge_histograms(left: HistogramData, right: HistogramData) -> HistogramData:
    if left.bounds != right.bounds:  # cannot happen with catalogue buckets; keep the first
        return left
    counts = tuple(a + b for a, b in zip(left.counts, right.counts, strict=True))
    return HistogramData(left.bounds, counts, left.total + right.total)


def _histogram(
    spec: m.MetricSpec, series: Mapping[K, HistogramData], dropped: frozenset[str]
) -> HistogramMetricFamily:
    positions = _kept(spec, dropped)
    merged: dict[Key, HistogramData] = {}
    for key, data in series.items():
        short = tuple(key[index] for index in positions)
        merged[short] = _merge_histograms(merged[short], data) if short in merged else data
    family = HistogramMetricFamily(spec.name, spec.help, labels=[spec.labels[i] for i in positions])
    for labels, data in sorted(merged.items()):
        if len(data.counts) != len(data.bounds) + 1:
            log.warning("histogram_malformed", metric=spec.name, labels=labels)
            continue
        family.add_metric(list(labels), _cumulative_buckets(data), data.total)
    return family


def _cumulative_buckets(data: HistogramData) -> list[tuple[str, float]]:
    """Per-bucket counts become Prometheus' cumulative ``le`` buckets, ending with +Inf."""
    bounds = [*(_go_float(bound) for bound in data.bounds), "+Inf"]
    buckets: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip(bounds, data.counts, strict=True):
        running += count
        buckets.append((bound, float(running)))
    return buckets


def _every(names: Iterable[str], counts: Mapping[str, int]) -> dict[Key, float]:
    """Every name in a closed set (0 when absent), plus any value the API added since."""
    values: dict[Key, float] = {(name,): 0.0 for name in names}
    values.update({(name,): float(count) for name, count in counts.items()})
    return values


def _every_open_state(groups: Mapping[K, int]) -> dict[Key, float]:
    """Each open state for every group (the key minus its leading state) that has any item."""
    seen = {key[1:] for key in groups}
    values: dict[Key, float] = {(state, *rest): 0.0 for rest in seen for state in m.OPEN_STATES}
    values.update({key: float(count) for key, count in groups.items()})
    return values


# --- data families ---------------------------------------------------------------------


def _counts(snapshot: Snapshot) -> Iterator[Metric | None]:
    drop = snapshot.dropped_labels
    if (tasks := snapshot.task_counts) is not None:
        yield _simple(m.TASKS, _every(m.TASK_STATES, tasks.by_state))
        yield _simple(m.TASKS_COMPLETED_RETAINED, _every(m.RESULT_CODES, tasks.completed_by_result))
        queues = {(queue,): float(count) for queue, count in tasks.open_by_queue.items()}
        yield _simple(m.QUEUE_OPEN_TASKS, queues, drop)
    if (activities := snapshot.activity_counts) is not None:
        yield _simple(m.ACTIVITIES, _every(m.TASK_STATES, activities.by_state))
        completed = _every(m.RESULT_CODES, activities.completed_by_result)
        yield _simple(m.ACTIVITIES_COMPLETED_RETAINED, completed)


def _open_work(snapshot: Snapshot) -> Iterator[Metric | None]:
    drop = snapshot.dropped_labels
    if (tasks := snapshot.open_tasks) is not None:
        yield _simple(m.OPEN_TASKS, _every_open_state(tasks.by_group), drop)
        yield _simple(m.TASK_OLDEST, tasks.oldest, drop, min)
        yield _simple(m.TASKS_BLOCKED, _floats(tasks.blocked), drop)
        yield _simple(m.TASKS_CANCEL_REQUESTED, _by_one(tasks.cancel_requested), drop)
        yield _simple(m.TASKS_REASSIGNED, _by_one(tasks.reassigned), drop)
    if (activities := snapshot.open_activities) is not None:
        yield _simple(m.OPEN_ACTIVITIES, _every_open_state(activities.by_group), drop)


def _tenants(snapshot: Snapshot) -> Iterator[Metric | None]:
    if "tenant_id" in snapshot.dropped_labels:  # nothing left to join on
        return
    info = {(t.id, t.name, t.locator, t.uuid, t.parent_id): 1.0 for t in snapshot.tenants.values()}
    yield _simple(m.TENANT_INFO, info, merge=max)


def _completions(snapshot: Snapshot) -> Iterator[Metric | None]:
    if (done := snapshot.completions) is None:
        return
    drop = snapshot.dropped_labels
    yield _simple(m.TASKS_COMPLETED, _floats(done.tasks), drop)
    yield _simple(m.ACTIVITIES_COMPLETED, _floats(done.activities), drop)
    yield _histogram(m.TASK_DURATION, done.task_duration, drop)
    yield _histogram(m.TASK_QUEUE_WAIT, done.task_queue_wait, drop)
    yield _histogram(m.ACTIVITY_DURATION, done.activity_duration, drop)


# --- poll status -----------------------------------------------------------------------


def _status(snapshot: Snapshot) -> Iterator[Metric | None]:
    yield _simple(m.UP, {(): 1.0 if snapshot.up else 0.0})
    statuses = sorted(snapshot.sources.values(), key=lambda status: status.name)
    yield _simple(m.SOURCE_UP, {(s.name,): float(s.ok) for s in statuses})
    last = {(s.name,): s.last_success for s in statuses if s.last_success is not None}
    yield _simple(m.SOURCE_LAST_SUCCESS, last)
    yield _simple(m.SOURCE_DURATION, {(s.name,): s.duration_seconds for s in statuses})
    if snapshot.completions is not None:
        yield _simple(m.WATERMARK, _by_one(snapshot.completions.watermarks))
    if snapshot.sources:  # before the first poll there is nothing to have folded
        yield _simple(m.TENANTS_FOLDED, {(): float(snapshot.tenants_folded)})
        yield _simple(m.LABEL_VALUES_FOLDED, _by_one(snapshot.label_values_folded))
    yield _simple(m.ITEMS_SKIPPED, _floats(snapshot.items_skipped))


def _floats(values: Mapping[K, float]) -> dict[K, float]:
    return {key: float(value) for key, value in values.items()}


def _by_one(values: Mapping[str, float]) -> dict[Key, float]:
    return {(name,): float(value) for name, value in values.items()}


_RENDERERS: tuple[Renderer, ...] = (_counts, _open_work, _tenants, _completions, _status)
