"""The immutable result of one poll, and the store that hands the latest one to scrapes.

The poller builds a new ``Snapshot`` each cycle (a failed source carries its last good
part over unchanged): every source's result by name in ``results``, and the parts the
built-in sources publish as typed fields; the collector renders whatever ``SnapshotStore.latest`` holds. A
scrape reads the store once, so it always sees one consistent poll.

Label values in a snapshot are final: tenants, queues and types are already filtered and
folded into ``__other__``, and a dropped label dimension has the value ``""`` in every key
(the collector leaves the labels named in ``dropped_labels`` out of the exposition).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from exporter.labels import Key

T = TypeVar("T")


@dataclass(frozen=True)
class HistogramData:
    """Observations of one histogram series: per-bucket counts (not cumulative) and their sum.

    ``counts`` has one more entry than ``bounds``: the last one is the +Inf bucket.
    """

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: float

    @property
    def count(self) -> int:
        """Number of observations."""
        return sum(self.counts)


@dataclass(frozen=True)
class SourceStatus:
    """How one source fared in the latest poll."""

    name: str
    ok: bool
    duration_seconds: float
    last_success: float | None  # unix seconds; None until the first success
    error_reason: str | None = None


@dataclass(frozen=True)
class TenantInfo:
    """A tenant as the listings describe it (``uuid`` is missing on some real tenants)."""

    id: str
    name: str
    locator: str
    uuid: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class Counts:
    """Totals from ``lod=count`` queries."""

    by_state: Mapping[str, int]
    completed_by_result: Mapping[str, int]
    open_by_queue: Mapping[str, int] = field(default_factory=dict)  # tasks only


@dataclass(frozen=True)
class OpenTasks:
    """Breakdown of the tasks not yet completed, from one full walk of the listing."""

    by_group: Mapping[Key, int]  # series of catalogue.OPEN_TASKS (labels.series)
    oldest: Mapping[Key, float]  # of TASK_OLDEST -> unix seconds
    blocked: Mapping[Key, int]  # of TASKS_BLOCKED
    cancel_requested: Mapping[str, int]  # queue
    reassigned: Mapping[str, int]  # queue


@dataclass(frozen=True)
class OpenActivities:
    """Breakdown of the activities not yet completed."""

    by_group: Mapping[Key, int]  # series of catalogue.OPEN_ACTIVITIES


@dataclass(frozen=True)
class Completions:
    """Cumulative completion counters and histograms since the exporter started."""

    tasks: Mapping[Key, int]  # series of catalogue.TASKS_COMPLETED (labels.series)
    task_duration: Mapping[Key, HistogramData]  # of TASK_DURATION
    task_queue_wait: Mapping[Key, HistogramData]  # of TASK_QUEUE_WAIT
    activities: Mapping[Key, int]  # of ACTIVITIES_COMPLETED
    activity_duration: Mapping[Key, HistogramData]  # of ACTIVITY_DURATION
    watermarks: Mapping[str, float]  # "tasks" / "activities" -> completedAt counted up to


@dataclass(frozen=True)
class Snapshot:
    """Everything /metrics shows about the API, as of one poll."""

    taken_at: float
    sources: Mapping[str, SourceStatus]
    task_counts: Counts | None = None  # None until the source first succeeds
    activity_counts: Counts | None = None
    open_tasks: OpenTasks | None = None
    open_activities: OpenActivities | None = None
    completions: Completions | None = None
    tenants: Mapping[str, TenantInfo] = field(default_factory=dict)
    tenants_folded: int = 0
    label_values_folded: Mapping[str, int] = field(default_factory=dict)  # label -> distinct values folded
    items_skipped: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (source, reason), cumulative
    dropped_labels: frozenset[str] = frozenset()
    poll_interval_seconds: float = 0.0  # also how long a new counter series is held at 0 (zerofirst.py)
    results: Mapping[str, object] = field(default_factory=dict)  # every source's last good result, by name

    def result(self, source: str, kind: type[T]) -> T | None:
        """Return ``source``'s last good result if it is a ``kind`` (None before its first success)."""
        value = self.results.get(source)
        return value if isinstance(value, kind) else None

    @property
    def up(self) -> bool:
        """True when the poll refreshed every source."""
        return bool(self.sources) and all(status.ok for status in self.sources.values())


class SnapshotStore:
    """Holds the latest snapshot; publishing is atomic, reading never blocks on a poll."""

    def __init__(self, initial: Snapshot | None = None) -> None:
        self._latest = initial or Snapshot(taken_at=0.0, sources={})
        self._lock = threading.Lock()
        self.first_published = threading.Event()  # /readyz and tests wait on this
        self.generation = 0  # bumped on every publish; caches of rendered bytes key on it
        self._listeners: list[Callable[[], None]] = []
        if initial is not None:
            self.first_published.set()

    def on_publish(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (in the publishing thread) after every later publish."""
        self._listeners.append(listener)

    @property
    def latest(self) -> Snapshot:
        """The most recent snapshot (an empty one before the first poll)."""
        return self._latest

    def publish(self, snapshot: Snapshot) -> None:
        """Make ``snapshot`` the one every later scrape sees."""
        with self._lock:
            self._latest = snapshot
            self.generation += 1
        self.first_published.set()
        for listener in self._listeners:
            listener()
