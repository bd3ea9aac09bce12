"""Shape series mappings into metric families: the one step from label records to samples.

Series are keyed by ``labels.Labels`` records (``labels.series``) and read by label name.
This is the only place the labels dropped by configuration (``--metrics.drop-labels``)
are applied: a dropped label leaves the family's label list, and the series it alone made
distinct are merged (summed, or as ``merge`` says). Histograms arrive per bucket and leave
as Prometheus' cumulative ``le`` buckets.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from exporter import logs
from exporter.labels import Labels, series
from exporter.snapshot import HistogramData
from exporter.vocabulary import OPEN_STATES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.catalogue import MetricSpec

log = logs.get_logger(component="collector")

V = TypeVar("V")
Shown = tuple[str, ...]  # the values of the labels a family shows, in its spec's order
# client_python's own formatting of bucket bounds ("1.0", "+Inf"); the library leaves it untyped.
_go_float: Callable[[float], str] = floatToGoString


def _kept(spec: MetricSpec, dropped: frozenset[str]) -> list[str]:
    """Return the labels a family shows: the spec's, minus those dropped by configuration."""
    return [label for label in spec.labels if label not in dropped]


def _project(values: Mapping[Labels, V], kept: list[str], merge: Callable[[V, V], V]) -> dict[Shown, V]:
    """Key each series by the values of the ``kept`` labels, merging the series that become equal."""
    projected: dict[Shown, V] = {}
    for key, value in values.items():
        shown = key.pick(kept)
        projected[shown] = merge(projected[shown], value) if shown in projected else value
    return projected


def simple(
    spec: MetricSpec,
    values: Mapping[Labels, float],
    dropped: frozenset[str] = frozenset(),
    merge: Callable[[float, float], float] = operator.add,
) -> Metric:
    """Build a gauge or counter family from series keys (``labels.series`` of ``spec``)."""
    labels = _kept(spec, dropped)
    family: Metric = (
        CounterMetricFamily(spec.name, spec.help, labels=labels)
        if spec.type == "counter"
        else GaugeMetricFamily(spec.name, spec.help, labels=labels)
    )
    for shown, value in sorted(_project(values, labels, merge).items()):
        family.add_metric(list(shown), value)  # type: ignore[attr-defined]
    return family


def _merge_histograms(left: HistogramData, right: HistogramData) -> HistogramData:
    if left.bounds != right.bounds:  # cannot happen with catalogue buckets; keep the first
        return left
    counts = tuple(a + b for a, b in zip(left.counts, right.counts, strict=True))
    return HistogramData(left.bounds, counts, left.total + right.total)


def histogram(
    spec: MetricSpec, values: Mapping[Labels, HistogramData], dropped: frozenset[str] = frozenset()
) -> HistogramMetricFamily:
    """Build a histogram family, merging the series that dropped labels make equal."""
    kept = _kept(spec, dropped)
    family = HistogramMetricFamily(spec.name, spec.help, labels=kept)
    for shown, data in sorted(_project(values, kept, _merge_histograms).items()):
        if len(data.counts) != len(data.bounds) + 1:
            log.warning("histogram_malformed", metric=spec.name, labels=shown)
            continue
        family.add_metric(list(shown), _cumulative_buckets(data), data.total)
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


def every(
    spec: MetricSpec, label: str, names: Iterable[str], counts: Mapping[str, int]
) -> dict[Labels, float]:
    """Every name in a closed set (0 when absent), plus any value the API added since, under ``label``."""
    values: dict[Labels, float] = {series(spec, **{label: name}): 0.0 for name in names}
    values.update({series(spec, **{label: name}): float(count) for name, count in counts.items()})
    return values


def every_open_state(groups: Mapping[Labels, int]) -> dict[Labels, float]:
    """Each open state for every group (its labels but ``state``) that has any item, 0 where it has none."""
    seen = {key.replace(state="") for key in groups}
    values = {rest.replace(state=state): 0.0 for rest in seen for state in OPEN_STATES}
    values.update({key: float(count) for key, count in groups.items()})
    return values


def floats(values: Mapping[Labels, float]) -> dict[Labels, float]:
    """Make every value a float (counts arrive as ints)."""
    return {key: float(value) for key, value in values.items()}


def by_label(spec: MetricSpec, label: str, values: Mapping[str, float]) -> dict[Labels, float]:
    """Key each value by a record of one label, ``label``, of ``spec``."""
    return {series(spec, **{label: name}): float(value) for name, value in values.items()}
