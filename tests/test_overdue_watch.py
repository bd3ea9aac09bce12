"""The overdue watch judges one snapshot: a poll that has just published is never turned down.

A poll publishes its snapshot, then renders it for the scraped formats (hundreds of
milliseconds at 95k series), and only then reports the publish to the watch. A watch that
woke in between used to judge the new snapshot by the old publish time and turn a fresh,
good poll down for a whole interval. The watch's clock is a seam here, so the window is
reached exactly rather than by racing threads.
"""

from __future__ import annotations

from exporter.overdue import STALE_INTERVALS, OverdueWatch
from exporter.snapshot import Snapshot, SnapshotStore, SourceStatus

INTERVAL = 10.0


class SteppedClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        """Return the time the test set."""
        return self.now


def _good(taken_at: float) -> Snapshot:
    status = SourceStatus("open_tasks", ok=True, duration_seconds=0.1, last_success=taken_at)
    return Snapshot(taken_at=taken_at, sources={"open_tasks": status})


def _up(store: SnapshotStore) -> bool:
    return store.latest.up


def _watched() -> tuple[SnapshotStore, OverdueWatch, SteppedClock]:
    store, clock = SnapshotStore(), SteppedClock()
    watch = OverdueWatch(store, INTERVAL, clock=clock)
    watch.published(store.publish(_good(1.0)))
    return store, watch, clock


def test_a_poll_that_published_but_has_not_reported_it_yet_stays_up() -> None:
    """Past the limit of the previous poll, the new snapshot (not yet reported) is left as it is."""
    store, watch, clock = _watched()
    clock.now += STALE_INTERVALS * INTERVAL - 1.0
    generation = store.publish(_good(2.0))  # the poll published; its render is still running
    clock.now += 2.0  # the watch wakes now, past the limit counted from the previous publish
    assert not watch.check()
    assert _up(store)
    assert store.latest.taken_at == 2.0
    watch.published(generation)
    assert _up(store)


def test_no_publish_for_three_intervals_turns_every_source_down_once() -> None:
    """The positive: the last good snapshot's sources read down, reason overdue, values unchanged."""
    store, watch, clock = _watched()
    clock.now += STALE_INTERVALS * INTERVAL - 0.5
    assert not watch.check()
    assert _up(store)
    clock.now += 1.0
    assert watch.check()
    assert not _up(store)
    assert store.latest.taken_at == 1.0
    assert {status.error_reason for status in store.latest.sources.values()} == {"overdue"}
    clock.now += STALE_INTERVALS * INTERVAL
    assert not watch.check(), "already down: nothing to turn down again"


def test_the_next_poll_after_an_overdue_one_is_judged_afresh() -> None:
    """A publish after the watch fired restores up, and it is given its own three intervals."""
    store, watch, clock = _watched()
    clock.now += STALE_INTERVALS * INTERVAL + 1.0
    assert watch.check()
    watch.published(store.publish(_good(3.0)))
    assert _up(store)
    clock.now += STALE_INTERVALS * INTERVAL - 1.0
    assert not watch.check()
    assert _up(store)
    clock.now += 2.0
    assert watch.check()
    assert not _up(store)
