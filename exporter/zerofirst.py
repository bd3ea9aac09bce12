"""Zero-first: every counter and histogram series is exposed at 0 before it shows a value.

Prometheus' ``increase()`` and ``rate()`` count only the steps between samples they have
seen, so a series whose first sample is already 5 loses those 5 events for good. Here a
new series (a label set not exposed before) is held at 0 until it has been exposed for
``hold`` seconds (on the monotonic clock), the poll interval: a Prometheus that scrapes at least once per poll
interval records the 0, and the held events arrive with the first exposition after the
hold. Nothing is lost (the value shown after the hold is the full cumulative value),
nothing goes backwards (0, then the cumulative value, which only grows), and the
exporter's own totals are untouched: only what is exposed is held.

One rule for every family: it applies to the exposed families by type, whatever produced
them, so the snapshot's data families and the exporter's own counters are held alike.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Final

from prometheus_client.metrics_core import Metric

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]

HELD_TYPES: Final = frozenset({"counter", "histogram"})
# A histogram's buckets are one series: the le label must not make each bucket its own.
_BUCKET_LABEL: Final = "le"


# client_python's own collectors (process, platform, gc): their counters count from the
# process's start, and Prometheus handles a first sample of those as any exporter's.
EXEMPT_PREFIXES: Final = ("process_", "python_")


class ZeroFirst:
    """Holds each new counter and histogram series at 0 for ``hold`` seconds after its first exposure.

    Every family of the exporter's own is held (``acronis_*``, ``astra_control_*`` and any
    source added later); only client_python's ``EXEMPT_PREFIXES`` stay as it writes them.
    """

    def __init__(self) -> None:
        self._first_exposed: dict[SeriesKey, float] = {}
        self._lock = threading.Lock()  # the text and OpenMetrics renders may run at once

    def apply(self, families: Iterable[Metric], *, now: float, hold: float) -> Iterator[Metric]:
        """Yield ``families`` with every series younger than ``hold`` at ``now`` shown as 0."""
        for family in families:
            if family.type in HELD_TYPES and not family.name.startswith(EXEMPT_PREFIXES):
                yield self._held(family, now, hold)
            else:
                yield family

    def _held(self, family: Metric, now: float, hold: float) -> Metric:
        held = Metric(family.name, family.documentation, family.type, family.unit)
        with self._lock:
            for sample in family.samples:
                if sample.name.endswith("_created"):  # a creation time, not a count
                    held.samples.append(sample)
                    continue
                key = (family.name, _identity(sample.labels))
                first = self._first_exposed.setdefault(key, now)
                young = now - first < hold
                held.samples.append(sample._replace(value=0.0) if young else sample)
        return held


def _identity(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, value) for name, value in labels.items() if name != _BUCKET_LABEL))
