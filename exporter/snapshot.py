"""The immutable result of one poll, and the store that hands the latest one to scrapes.

The poller builds a new ``Snapshot`` each cycle (a failed source carries its last good
result over unchanged): every source's result by name in ``results``, whatever its type;
the collector renders whatever ``SnapshotStore.latest`` holds. A scrape reads the store
once, so it always sees one consistent poll.

Label values in a snapshot are filtered, capped and folded into ``__other__``; the labels
named in ``dropped_labels`` are still there, rendering.py takes them out (and merges the
series they alone told apart).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

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
class Snapshot:
    """Everything /metrics shows about the API, as of one poll."""

    taken_at: float
    sources: Mapping[str, SourceStatus]
    tenants: Mapping[str, TenantInfo] = field(default_factory=dict)
    tenants_folded: int = 0
    label_values_folded: Mapping[str, int] = field(default_factory=dict)  # label -> distinct values folded
    items_skipped: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (source, reason), cumulative
    dropped_labels: frozenset[str] = frozenset()
    poll_interval_seconds: float = 0.0  # also how long a new counter series is held at 0 (zerofirst.py)
    # Every source's last good result by source name (absent until its first success); each
    # source's module defines its result's type, and its families read it with ``result``.
    results: Mapping[str, object] = field(default_factory=dict)
    # When it was made, on a clock no NTP step moves: zero-first's hold is timed on it, since
    # a wall clock stepped back an hour would show every counter already shown as new, at 0.
    taken_monotonic: float = field(default_factory=time.monotonic)

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

    def publish(self, snapshot: Snapshot) -> int:
        """Make ``snapshot`` the one every later scrape sees; return its generation."""
        with self._lock:
            self._latest = snapshot
            self.generation += 1
            generation = self.generation
        self.first_published.set()
        self._notify()
        return generation

    def replace_latest(self, change: Callable[[Snapshot], Snapshot | None], *, generation: int) -> bool:
        """Publish ``change(latest)`` if ``latest`` is still ``generation`` and the change is not None.

        Atomic against ``publish``: a change judged on one snapshot is never applied to a
        newer one, whose publisher may not have had the time to say so yet.
        """
        with self._lock:
            if generation != self.generation:
                return False
            changed = change(self._latest)
            if changed is None:
                return False
            self._latest = changed
            self.generation += 1
        self._notify()
        return True

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()
