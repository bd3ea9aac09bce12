"""Shape series mappings into metric families: the building blocks of every data family.

Series are keyed as ``labels.series`` builds them; labels dropped by configuration are
removed here, by name (the series they made distinct merge), and
histograms arrive per bucket and leave as Prometheus' cumulative ``le`` buckets.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, TypeVar

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from exporter import logs
from exporter.labels import named
from exporter.snapshot import HistogramData
from exporter.vocabulary import OPEN_STATES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from prometheus_client.metrics_core import Metric

    from exporter.catalogue import MetricSpec

    Key = tuple[str, ...]

log = logs.get_logger(component="collector")

K = TypeVar("K", bound=tuple[str, ...])  # a label-value tuple of any fixed length
V = TypeVar("V")
# client_python's own formatting of bucket bounds ("1.0", "+Inf"); the library leaves it untyped.
_go_float: Callable[[float], str] = floatToGoString


def _kept(spec: MetricSpec, dropped: frozenset[str]) -> list[str]:
    """Return the labels a family shows: the spec's, minus those dropped by configuration."""
    return [label for label in spec.labels if label not in dropped]


def _short(spec: MetricSpec, key: Key, kept: list[str]) -> Key:
    """Return the key's values of the ``kept`` labels, picked by name: where labels are dropped."""
    values = named(spec, key)
    return tuple(values[label] for label in kept)


def _project(
    spec: MetricSpec,
    values: Mapping[K, float],
    kept: list[str],
    merge: Callable[[float, float], float] = operator.add,
) -> dict[Key, float]:
    projected: dict[Key, float] = {}
    for key, value in values.items():
        short = _short(spec, key, kept)
        projected[short] = merge(projected[short], value) if short in projected else value
    return projected


def simple(
    spec: MetricSpec,
    values: Mapping[K, float],
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
    for key, value in sorted(_project(spec, values, labels, merge).items()):
        family.add_metric(list(key), value)  # type: ignore[attr-defined]
    return family


def _merge_histograms(left: HistogramData, right: HistogramData) -> HistogramData:
    if left.bounds != right.bounds:  # cannot happen with catalogue buckets; keep the first
        return left
    counts = tuple(a + b for a, b in zip(left.counts, right.counts, strict=True))
    return HistogramData(left.bounds, counts, left.total + right.total)


def histogram(
    spec: MetricSpec, series: Mapping[K, HistogramData], dropped: frozenset[str]
) -> HistogramMetricFamily:
    """Build a histogram family, merging the series that dropped labels make equal."""
    kept = _kept(spec, dropped)
    merged: dict[Key, HistogramData] = {}
    for key, data in series.items():
        short = _short(spec, key, kept)
        merged[short] = _merge_histograms(merged[short], data) if short in merged else data
    family = HistogramMetricFamily(spec.name, spec.help, labels=kept)
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


def every(names: Iterable[str], counts: Mapping[str, int]) -> dict[Key, float]:
    """Every name in a closed set (0 when absent), plus any value the API added since."""
    values: dict[Key, float] = {(name,): 0.0 for name in names}
    values.update({(name,): float(count) for name, count in counts.items()})
    return values


def every_open_state(groups: Mapping[K, int]) -> dict[Key, float]:
    """Each open state for every group (the key minus its leading state) that has any item."""
    seen = {key[1:] for key in groups}
    values: dict[Key, float] = {(state, *rest): 0.0 for rest in seen for state in OPEN_STATES}
    values.update({key: float(count) for key, count in groups.items()})
    return values


def floats(values: Mapping[K, float]) -> dict[K, float]:
    """Make every value a float (counts arrive as ints)."""
    return {key: float(value) for key, value in values.items()}


def keyed(values: Mapping[K, V]) -> dict[Key, V]:
    """Widen a mapping keyed by fixed-length label tuples to any length (Mapping keys are invariant)."""
    keyed: dict[Key, V] = dict(values.items())
    return keyed


def by_one(values: Mapping[str, float]) -> dict[Key, float]:
    """Key each value by a one-label tuple."""
    return {(name,): float(value) for name, value in values.items()}
