"""Render one poll snapshot as Prometheus metric families: the only place data becomes series.

The collector reads ``SnapshotStore.latest`` once per collection, so a scrape always shows
one consistent poll. It does no I/O, puts no timestamps on samples, and never raises: a
family that cannot be rendered is left out and logged, the rest of the scrape goes on.

Every catalogue family is yielded, with HELP and TYPE even while it has no series, so the
documented families are present from the first poll on; ``zerofirst.ZeroFirst`` holds every
new counter and histogram series at 0 for a poll interval, so that Prometheus' increase()
counts its first events too. The families themselves are built in families.py.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import CounterMetricFamily, Metric

from exporter import catalogue, logs
from exporter.families import FAMILIES
from exporter.sources import OPT_IN_FAMILIES
from exporter.zerofirst import ZeroFirst

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from exporter.snapshot import SnapshotStore

log = logs.get_logger(component="collector")


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
        # The snapshot's own clock, not the render's: the text and OpenMetrics renders of one
        # poll then hold exactly the same series, whenever each of them runs.
        hold = snapshot.poll_interval_seconds
        for spec, build in FAMILIES:  # one family at a time: a renderer holds only the one it renders
            try:
                family = build(snapshot)
            except Exception:  # a rendering bug must cost one family, never the whole scrape
                log.exception("family_render_failed", metric=spec.name)
                self._failures.record(spec.name)
                continue
            if family.samples or spec.name not in OPT_IN_FAMILIES:  # opt-in families show only when in use
                yield from self._zero_first.apply([family], now=snapshot.taken_monotonic, hold=hold)


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
