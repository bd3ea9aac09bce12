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
* Every catalogue family is yielded, with HELP and TYPE even while it has no series, so the
  documented families are present from the first poll on.
* ``zerofirst.ZeroFirst`` holds every new counter and histogram series at 0 for a poll
  interval, so that Prometheus' increase() counts its first events too.
* Capped labels fold into ``__other__``, which ``acronis_tenant_info`` and
  ``acronis_queue_open_tasks`` name too: no family loses what was folded.
"""

from __future__ import annotations

import operator
import threading
from typing import TYPE_CHECKING, Final, TypeVar

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from exporter import catalogue, logs
from exporter.snapshot import HistogramData, Snapshot, SnapshotStore
from exporter.vocabulary import OPEN_STATES, OTHER, RESULT_CODES, TASK_STATES, UNKNOWN
from exporter.zerofirst import ZeroFirst

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from exporter.snapshot import Completions, OpenTasks, SourceStatus

    Key = tuple[str, ...]
    Builder = Callable[[Snapshot], Metric]

log = logs.get_logger(component="collector")

K = TypeVar("K", bound=tuple[str, ...])  # a label-value tuple of any fixed length
V = TypeVar("V")
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

    def __init__(self, store: SnapshotStore, failures: RenderFailures | None = None) -> None:
        self._store = store
        self._failures = failures or RenderFailures()
        self._zero_first = ZeroFirst()

    def collect(self) -> Iterator[Metric]:
        """Yield every catalogue family (HELP and TYPE even without series), new series held at 0."""
        snapshot = self._store.latest  # read once: one scrape, one consistent view
        families: list[Metric] = []
        for spec, build in FAMILIES:
            try:
                families.append(build(snapshot))
            except Exception:  # a rendering bug must cost one family, never the whole scrape
                log.exception("family_render_failed", metric=spec.name)
                self._failures.record(spec.name)
        # The snapshot's own clock, not the render's: the text and OpenMetrics renders of one
        # poll then hold exactly the same series, whenever each of them runs.
        hold = snapshot.poll_interval_seconds
        yield from self._zero_first.apply(families, now=snapshot.taken_at, hold=hold)


class RenderFailures:
    """Counts families left out of an exposition because rendering them raised."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._counts = dict.fromkeys(names, 0)
        self._lock = threading.Lock()

    def record(self, metric: str) -> None:
        """Count one family left out."""
        with self._lock:
            self._counts[metric] = self._counts.get(metric, 0) + 1

    def collect(self) -> Iterator[Metric]:
        """Yield ``acronis_exporter_render_failures_total{metric}``."""
        with self._lock:
            counts = sorted(self._counts.items())
        family = CounterMetricFamily(
            catalogue.RENDER_FAILURES.name, catalogue.RENDER_FAILURES.help, labels=["metric"]
        )
        for metric, count in counts:
            family.add_metric([metric], float(count))
        yield family


# --- generic building blocks ------------------------------------------------------------


def _kept(spec: catalogue.MetricSpec, dropped: frozenset[str]) -> tuple[int, ...]:
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
    spec: catalogue.MetricSpec,
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
    spec: catalogue.MetricSpec, series: Mapping[K, HistogramData], dropped: frozenset[str]
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
    values: dict[Key, float] = {(state, *rest): 0.0 for rest in seen for state in OPEN_STATES}
    values.update({key: float(count) for key, count in groups.items()})
    return values


# --- data families: one builder per family, so a failing one costs only itself -----------

FOLDED_TENANT_NAME: Final = "(folded: tenants beyond --metrics.max-tenants)"
UNKNOWN_TENANT_NAME: Final = "(unknown: items that name no tenant)"


def _tasks(snapshot: Snapshot) -> Metric:
    counts = snapshot.task_counts
    return _simple(catalogue.TASKS, _every(TASK_STATES, counts.by_state) if counts else {})


def _tasks_retained(snapshot: Snapshot) -> Metric:
    counts = snapshot.task_counts
    values = _every(RESULT_CODES, counts.completed_by_result) if counts else {}
    return _simple(catalogue.TASKS_COMPLETED_RETAINED, values)


def _queue_open_tasks(snapshot: Snapshot) -> Metric:
    """Open tasks per counted queue, and the rest under ``__other__``, so the sum is every open task."""
    if (counts := snapshot.task_counts) is None:
        return _simple(catalogue.QUEUE_OPEN_TASKS, {}, snapshot.dropped_labels)
    queues = {(queue,): float(n) for queue, n in counts.open_by_queue.items()}
    open_total = sum(counts.by_state.get(state, 0) for state in OPEN_STATES)
    # Counted a moment apart, the parts may exceed the total by a few: never show a negative.
    queues[OTHER,] = queues.get((OTHER,), 0.0) + max(open_total - sum(queues.values()), 0.0)
    return _simple(catalogue.QUEUE_OPEN_TASKS, queues, snapshot.dropped_labels)


def _activities(snapshot: Snapshot) -> Metric:
    counts = snapshot.activity_counts
    return _simple(catalogue.ACTIVITIES, _every(TASK_STATES, counts.by_state) if counts else {})


def _activities_retained(snapshot: Snapshot) -> Metric:
    counts = snapshot.activity_counts
    values = _every(RESULT_CODES, counts.completed_by_result) if counts else {}
    return _simple(catalogue.ACTIVITIES_COMPLETED_RETAINED, values)


def _open_tasks_part(spec: catalogue.MetricSpec, part: Callable[[OpenTasks], Mapping[Key, float]]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        tasks = snapshot.open_tasks
        merge = min if spec is catalogue.TASK_OLDEST else operator.add
        return _simple(spec, part(tasks) if tasks else {}, snapshot.dropped_labels, merge)

    return build


def _open_activities(snapshot: Snapshot) -> Metric:
    activities = snapshot.open_activities
    values = _every_open_state(activities.by_group) if activities else {}
    return _simple(catalogue.OPEN_ACTIVITIES, values, snapshot.dropped_labels)


def _tenant_info(snapshot: Snapshot) -> Metric:
    """Every labelled tenant, plus rows for ``__other__`` and ``unknown`` so that joins keep them."""
    if "tenant_id" in snapshot.dropped_labels or not snapshot.sources:  # no poll, or nothing to join on
        return _simple(catalogue.TENANT_INFO, {})
    info = {(t.id, t.name, t.locator, t.uuid, t.parent_id): 1.0 for t in snapshot.tenants.values()}
    info[OTHER, FOLDED_TENANT_NAME, "", "", ""] = 1.0
    info[UNKNOWN, UNKNOWN_TENANT_NAME, "", "", ""] = 1.0
    return _simple(catalogue.TENANT_INFO, info, merge=max)


def _completion_counter(
    spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, int]]
) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.completions
        return _simple(spec, _floats(part(done)) if done else {}, snapshot.dropped_labels)

    return build


def _completion_histogram(
    spec: catalogue.MetricSpec, part: Callable[[Completions], Mapping[Key, HistogramData]]
) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        done = snapshot.completions
        return _histogram(spec, part(done) if done else {}, snapshot.dropped_labels)

    return build


def _activity_duration(done: Completions) -> Mapping[Key, HistogramData]:
    """Every result code from the start (a closed vocabulary), 0 until one completes with it."""
    empty = HistogramData(catalogue.DURATION_BUCKETS, (0,) * (len(catalogue.DURATION_BUCKETS) + 1), 0.0)
    series: dict[Key, HistogramData] = {(code,): empty for code in RESULT_CODES}
    series.update(_keyed(done.activity_duration))
    return series


# --- poll status -----------------------------------------------------------------------


def _up(snapshot: Snapshot) -> Metric:
    return _simple(catalogue.UP, {(): 1.0 if snapshot.up else 0.0})


def _by_source(spec: catalogue.MetricSpec, value: Callable[[SourceStatus], float | None]) -> Builder:
    def build(snapshot: Snapshot) -> Metric:
        values = {(s.name,): value(s) for s in snapshot.sources.values()}
        return _simple(spec, {key: v for key, v in values.items() if v is not None})

    return build


def _watermark(snapshot: Snapshot) -> Metric:
    done = snapshot.completions
    return _simple(catalogue.WATERMARK, _by_one(done.watermarks) if done else {})


def _tenants_folded(snapshot: Snapshot) -> Metric:
    # Before the first poll there is nothing to have folded: no series rather than a false 0.
    return _simple(catalogue.TENANTS_FOLDED, {(): float(snapshot.tenants_folded)} if snapshot.sources else {})


def _label_values_folded(snapshot: Snapshot) -> Metric:
    folded = _by_one(snapshot.label_values_folded) if snapshot.sources else {}
    return _simple(catalogue.LABEL_VALUES_FOLDED, folded)


def _poll_interval(snapshot: Snapshot) -> Metric:
    interval = snapshot.poll_interval_seconds
    return _simple(catalogue.POLL_INTERVAL, {(): interval} if interval > 0 else {})  # 0: not from a poller


def _floats(values: Mapping[K, float]) -> dict[K, float]:
    return {key: float(value) for key, value in values.items()}


def _keyed(values: Mapping[K, V]) -> dict[Key, V]:
    """Widen a mapping keyed by fixed-length label tuples to any length (Mapping keys are invariant)."""
    keyed: dict[Key, V] = dict(values.items())
    return keyed


def _by_one(values: Mapping[str, float]) -> dict[Key, float]:
    return {(name,): float(value) for name, value in values.items()}


FAMILIES: tuple[tuple[catalogue.MetricSpec, Builder], ...] = (
    (catalogue.TASKS, _tasks),
    (catalogue.TASKS_COMPLETED_RETAINED, _tasks_retained),
    (catalogue.QUEUE_OPEN_TASKS, _queue_open_tasks),
    (catalogue.ACTIVITIES, _activities),
    (catalogue.ACTIVITIES_COMPLETED_RETAINED, _activities_retained),
    (catalogue.OPEN_TASKS, _open_tasks_part(catalogue.OPEN_TASKS, lambda t: _every_open_state(t.by_group))),
    (catalogue.TASK_OLDEST, _open_tasks_part(catalogue.TASK_OLDEST, lambda t: _keyed(t.oldest))),
    (
        catalogue.TASKS_BLOCKED,
        _open_tasks_part(catalogue.TASKS_BLOCKED, lambda t: _floats(_keyed(t.blocked))),
    ),
    (
        catalogue.TASKS_CANCEL_REQUESTED,
        _open_tasks_part(catalogue.TASKS_CANCEL_REQUESTED, lambda t: _by_one(t.cancel_requested)),
    ),
    (
        catalogue.TASKS_REASSIGNED,
        _open_tasks_part(catalogue.TASKS_REASSIGNED, lambda t: _by_one(t.reassigned)),
    ),
    (catalogue.OPEN_ACTIVITIES, _open_activities),
    (catalogue.TENANT_INFO, _tenant_info),
    (catalogue.TASKS_COMPLETED, _completion_counter(catalogue.TASKS_COMPLETED, lambda d: _keyed(d.tasks))),
    (
        catalogue.ACTIVITIES_COMPLETED,
        _completion_counter(catalogue.ACTIVITIES_COMPLETED, lambda d: _keyed(d.activities)),
    ),
    (
        catalogue.TASK_DURATION,
        _completion_histogram(catalogue.TASK_DURATION, lambda d: _keyed(d.task_duration)),
    ),
    (
        catalogue.TASK_QUEUE_WAIT,
        _completion_histogram(catalogue.TASK_QUEUE_WAIT, lambda d: _keyed(d.task_queue_wait)),
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
        lambda snapshot: _simple(catalogue.ITEMS_SKIPPED, _floats(snapshot.items_skipped)),
    ),
)
