"""Turn the store and the exporter's own registry into /metrics bytes, once per poll.

The data families change only when the poller publishes, so their text and OpenMetrics
renderings, plain and gzipped, are cached per ``SnapshotStore.generation``: however many
Prometheus servers scrape, a poll is rendered and compressed at most once per format, and
a format scraped lately is rendered as soon as the poll is published rather
than by the next scrape. The small live registry (the exporter's own counters, build
info, process_* and python_*) is appended, rendered again only when it changed (livetail.py);
for gzip, a copy of the compressor primed with the cached part compresses only the live
tail, so the body stays one ordinary gzip member. Whole gzipped responses are kept per
format until either part changes: most scrapes only look the bytes up. A format's
rendering is kept only while it is scraped (for two polls, at least two minutes). Content type
follows ``Accept`` (OpenMetrics 1.0 when asked for, else the text format 0.0.4) and the
body is gzipped when ``Accept-Encoding`` allows it (negotiation.py).

Each family is rendered on its own: one that raises is left out of that exposition, logged
and counted in ``acronis_exporter_render_failures_total{metric}``, and every other family
is served. The exporter's own counters go through the same zero-first rule as the data
families (zerofirst.py), on the wall clock, since they change between polls.
"""

from __future__ import annotations

import math
import platform
import threading
import time
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import prometheus_client
from prometheus_client import (
    GC_COLLECTOR,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics import exposition as openmetrics_format

from exporter import __version__, build, logs
from exporter.catalogue import BUILD_INFO
from exporter.collector import RenderFailures, TaskManagerCollector
from exporter.families import FAMILIES
from exporter.livetail import LiveTail
from exporter.negotiation import Format, accepts_gzip, negotiate_format
from exporter.zerofirst import ZeroFirst

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Iterator

    from exporter.snapshot import SnapshotStore

TEXT_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE: Final = "application/openmetrics-text; version=1.0.0; charset=utf-8"
_EOF: Final = b"# EOF\n"
_GZIP_LEVEL: Final = 6
# A format counts as scraped lately for this many poll intervals, and at least this long.
_RECENT_POLLS: Final = 2
_RECENT_FLOOR_SECONDS: Final = 120.0
_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
# client_python leaves these two untyped; these are the signatures we rely on.
_openmetrics_latest: Callable[[CollectorRegistry], bytes] = openmetrics_format.generate_latest
_disable_created_series: Callable[[], None] = prometheus_client.disable_created_metrics

log = logs.get_logger(component="exposition")


@dataclass(frozen=True)
class Payload:
    """A /metrics response body with the headers that describe it."""

    body: bytes
    content_type: str
    content_encoding: str | None = None


class BuildInfoCollector:
    """``acronis_exporter_build_info{version,revision,python_version} 1``, node_exporter style."""

    def __init__(self, version: str = __version__, revision: str | None = None) -> None:
        self._labels = [
            version,
            revision or build.revision(),  # the image's ARG REVISION, else the git checkout's
            platform.python_version(),
        ]

    def collect(self) -> Iterator[Metric]:
        """Yield the one constant series."""
        family = GaugeMetricFamily(BUILD_INFO.name, BUILD_INFO.help, labels=BUILD_INFO.labels)
        family.add_metric(self._labels, 1.0)
        yield family


def self_registry(revision: str | None = None) -> CollectorRegistry:
    """Return a registry for the exporter's own metrics: build info, process_*, python_*.

    Pass it to ``selfmetrics.SelfMetrics`` for the directly instrumented counters.
    """
    # client_python's switch is process-wide and read at collection: flipped here only, where
    # the registry that holds the exporter's library counters (SelfMetrics) is made.
    _disable_created_series()  # no _created series: they double the counters
    registry = CollectorRegistry()
    registry.register(BuildInfoCollector(revision=revision))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    if GC_COLLECTOR is not None:  # absent on interpreters without gc.get_stats()
        GCCollector(registry=registry)
    return registry


class _Rendered:
    """The data families of one generation in one format, plain and gzip-primed."""

    def __init__(self, generation: int, body: bytes) -> None:
        self.generation = generation
        self.body = body
        # Compressed up to a sync flush: the cached bytes end on a byte boundary and a copy
        # of the compressor can carry on with the live tail and finish the same member.
        self._compressor = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        self._gzip_head = self._compressor.compress(body) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def gzipped(self, tail: bytes) -> bytes:
        """Return ``body + tail`` gzipped, compressing only ``tail``."""
        compressor = self._compressor.copy()
        return self._gzip_head + compressor.compress(tail) + compressor.flush()


class _CountedFailures(RenderFailures):
    """Render failures that also say how many were recorded: a change of the live tail."""

    recorded = 0

    def record(self, metric: str) -> None:
        """Count one family left out."""
        super().record(metric)
        self.recorded += 1


class Exposition:
    """Renders /metrics: cached data families plus the live self registry, per scrape."""

    def __init__(self, store: SnapshotStore, live: CollectorRegistry) -> None:
        self._store = store
        self._live = live
        self._failures = _CountedFailures(spec.name for spec, _ in FAMILIES)
        self._collector = TaskManagerCollector(store, self._failures)
        self._live_zero_first = ZeroFirst()
        self._locks: dict[Format, threading.Lock] = {
            "text": threading.Lock(),
            "openmetrics": threading.Lock(),
        }
        self._cache: dict[Format, _Rendered] = {}
        self._tail = LiveTail(live, self._live_tail, self._tail_version)
        # Whole gzipped responses, per format, with the key of the parts they were made of.
        self._payloads: dict[Format, tuple[Hashable, Payload]] = {}
        self._scraped: dict[Format, float] = {}  # monotonic time of each format's last scrape
        store.on_publish(self._render_scraped_formats)

    def render(self, accept: str | None = None, accept_encoding: str | None = None) -> Payload:
        """Build the /metrics response for these request headers."""
        fmt = negotiate_format(accept)
        return self._payload(fmt, self._rendered(fmt), accept_encoding)

    def rendered_payload(self, accept: str | None, accept_encoding: str | None) -> Payload | None:
        """Return the /metrics response if its format is rendered for the latest poll; never render."""
        fmt = negotiate_format(accept)
        cached = self._cache.get(fmt)
        if cached is None or cached.generation != self._store.generation:
            return None
        return self._payload(fmt, cached, accept_encoding)

    def _payload(self, fmt: Format, data: _Rendered, accept_encoding: str | None) -> Payload:
        gzipped = accepts_gzip(accept_encoding)
        tail_key, tail = self._tail.current(fmt)
        key = (data.generation, tail_key)
        self._scraped[fmt] = time.monotonic()
        content_type = OPENMETRICS_CONTENT_TYPE if fmt == "openmetrics" else TEXT_CONTENT_TYPE
        if not gzipped:  # not kept: a second copy of the whole body would cost more memory than CPU
            return Payload(data.body + tail, content_type)
        cached = self._payloads.get(fmt)
        if cached is not None and cached[0] == key:
            return cached[1]
        payload = Payload(data.gzipped(tail), content_type, "gzip")
        self._payloads[fmt] = (key, payload)
        return payload

    def body(self, fmt: Format = "text") -> bytes:
        """Return the full exposition in ``fmt``: data families first, then the live registry."""
        return self.data(fmt) + self._tail.current(fmt)[1]

    def data(self, fmt: Format = "text") -> bytes:
        """Only the families rendered from the snapshot (OpenMetrics without ``# EOF``)."""
        return self._rendered(fmt).body

    def _tail_version(self) -> Hashable:
        return self._store.generation, self._failures.recorded

    def _live_tail(self, fmt: Format) -> bytes:
        families = [*self._live.collect(), *self._failures.collect()]
        held = self._live_zero_first.apply(families, now=time.monotonic(), hold=self._live_hold())
        tail = self._render_families(held, fmt)
        return tail + _EOF if fmt == "openmetrics" else tail  # the one # EOF of the response

    def _live_hold(self) -> float:
        # Until the first poll is published the interval is unknown, and nothing a scraper
        # saw before could anchor an increase(): every own counter shows 0 until then.
        if not self._store.first_published.is_set():
            return math.inf
        return self._store.latest.poll_interval_seconds

    def _render_families(self, families: Iterable[Metric], fmt: Format) -> bytes:
        """Render the families; if that raises, each alone: the one at fault is left out, logged, counted.

        Together first, because a registry per family costs more than the rendering itself
        on every scrape; the family-by-family pass runs only after a failure.
        """
        batch = list(families)
        try:
            return _render(batch, fmt)
        except Exception:  # noqa: BLE001, S110 - not swallowed: the pass below finds, logs and counts it
            pass
        parts: list[bytes] = []
        for family in batch:
            try:
                parts.append(_render([family], fmt))
            except Exception:  # a rendering bug must cost one family, never the whole scrape
                log.exception("family_render_failed", metric=family.name)
                self._failures.record(family.name)
        return b"".join(parts)

    def _rendered(self, fmt: Format) -> _Rendered:
        # Read the generation before rendering: publish() swaps the snapshot first and bumps
        # the generation second, so what we render is at least as new as the key we store.
        generation = self._store.generation
        cached = self._cache.get(fmt)
        if cached is not None and cached.generation == generation:
            return cached
        with self._locks[fmt]:  # concurrent scrapers of a fresh poll wait for one render
            cached = self._cache.get(fmt)
            if cached is not None and cached.generation == generation:
                return cached
            rendered = _Rendered(generation, self._render_data(fmt))
            self._cache[fmt] = rendered
            return rendered

    def _render_scraped_formats(self) -> None:
        # Only formats scraped lately: rendering OpenMetrics nobody asks for would be waste, and
        # the rendering of a format scraped once long ago is dropped rather than kept in memory.
        interval = self._store.latest.poll_interval_seconds
        lately = time.monotonic() - max(_RECENT_POLLS * interval, _RECENT_FLOOR_SECONDS)
        for fmt in tuple(self._cache):
            if self._scraped.get(fmt, -math.inf) >= lately:
                self._rendered(fmt)
            else:  # a later scrape renders it again, on demand
                self._cache.pop(fmt, None)
                self._payloads.pop(fmt, None)

    def _render_data(self, fmt: Format) -> bytes:
        # Family by family as the collector builds them: only one family's series exist as
        # objects at a time, beside the bytes rendered so far (the peak of a 95k-series poll).
        return b"".join(self._render_families((family,), fmt) for family in self._collector.collect())


class _Ready:
    """A collector of ready-made families, for client_python's renderers."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        """Yield the families."""
        yield from self._families


def _render(families: list[Metric], fmt: Format) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Ready(families))
    if fmt == "openmetrics":
        return _openmetrics_latest(registry).removesuffix(_EOF)
    return text_format.generate_latest(registry)
