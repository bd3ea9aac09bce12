"""A poll that overruns: its sources read as down until it ends, never ``up 1`` on stale data.

A snapshot is published when a poll ends, so a poll that never ends (an API that hands
out a fresh cursor every 29 seconds, a page at a time, for hours) would leave the last
published ``acronis_up 1`` and ``source_up 1`` standing over data of any age. Once no
poll has published for ``STALE_INTERVALS`` poll intervals, the age past which
AcronisExporterDataStale fires, ``OverdueWatch`` republishes the last snapshot with every
source down (reason ``overdue`` in ``/status``): its values stay the last good ones, no
refresh failure is counted since none ended, and the poll's own snapshot replaces it
when it ends. The watch runs on the monotonic clock: a wall-clock step proves nothing.

The watch judges one snapshot, the generation the poller last reported, and changes only
that one: a poll that has just published, and is still rendering before it reports so,
is never turned down for the time its predecessor took.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Final

from exporter import logs

if TYPE_CHECKING:
    from collections.abc import Callable

    from exporter.snapshot import Snapshot, SnapshotStore

STALE_INTERVALS: Final = 3  # as AcronisExporterDataStale: older than three poll intervals
OVERDUE: Final = "overdue"

_log = logs.get_logger(component="poller")


class OverdueWatch:
    """Watches the time since the last publish; past the limit, turns every source down once."""

    def __init__(
        self, store: SnapshotStore, interval: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store, self._clock = store, clock
        self._limit = STALE_INTERVALS * interval
        self._published = clock()
        self._generation = store.generation
        self._lock = threading.Lock()

    def published(self, generation: int) -> None:
        """Note that a poll just published the snapshot of ``generation`` (``SnapshotStore.publish``)."""
        with self._lock:
            self._published, self._generation = self._clock(), generation

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: wake when the limit passes, and mark the snapshot overdue if no poll published."""
        while not stop.wait(max(1.0, self._due() - self._clock())):
            self.check()

    def check(self) -> bool:
        """Turn the sources down if no poll published within the limit; return whether it did."""
        with self._lock:
            overdue = self._clock() - self._published
            if overdue < self._limit:
                return False
            self._published = self._clock()  # once per limit, not once a second
            generation = self._generation
        if not self._store.replace_latest(_sources_down, generation=generation):
            return False
        _log.warning("poll_overdue", seconds_since_last_poll=round(overdue, 1), limit=self._limit)
        return True

    def _due(self) -> float:
        with self._lock:
            return self._published + self._limit


def _sources_down(snapshot: Snapshot) -> Snapshot | None:
    """Return ``snapshot`` with its up sources turned down, or None when none is up."""
    if not any(status.ok for status in snapshot.sources.values()):
        return None
    down = {
        name: dataclasses.replace(status, ok=False, error_reason=OVERDUE) if status.ok else status
        for name, status in snapshot.sources.items()
    }
    return dataclasses.replace(snapshot, sources=down)
