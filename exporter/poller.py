"""The poller, a scheduler: every interval, run each registered source and publish one Snapshot.

It knows no source by name. One poll submits every source's ``requests`` to one bounded
thread pool (``api.concurrency`` workers), so a cycle costs about the longest listing walk,
not the sum of all requests. Each source is settled by ``Outcomes.settle`` (outcomes.py):
success replaces the source's last good result; any exception keeps it and fails that
source alone. The independent sources' open items seed the label caps, then each is folded
(labelled); a source ``after`` another then sends its ``follow_up`` requests (the per-queue
counts need the labelled queues). The snapshot holds every source's last good result.

The loop waits on its stop event between polls, never sleeps, and has one broad ``except``
besides the per-source ones: a bug is logged and counted, and polling goes on. A poll that
runs past three intervals turns its sources down until it ends (``overdue``).
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

from exporter import logs
from exporter.cardinality import Labeler
from exporter.grouping import CompletionTotals
from exporter.jobs import Breaker, PollCancelled, SourceJobs
from exporter.liveness import Liveness, next_delay, stall_limit
from exporter.outcomes import Outcomes
from exporter.overdue import OverdueWatch
from exporter.poll_report import PollReport
from exporter.snapshot import Snapshot
from exporter.sources import REGISTRY
from exporter.sources.base import Paging, Poll, Shared, merge_open_work
from exporter.workers import DaemonPool

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Mapping

    from exporter.client import TaskManagerClient
    from exporter.config import Settings
    from exporter.selfmetrics import SelfMetrics
    from exporter.snapshot import SnapshotStore
    from exporter.sources.base import Source

_log = logs.get_logger(component="poller")


class Poller:
    """Polls Task Manager into snapshots; ``poll_once`` for one cycle, ``run`` for the loop."""

    def __init__(  # noqa: PLR0913  the contract's signature: collaborators, then test seams
        self,
        settings: Settings,
        client: TaskManagerClient,
        store: SnapshotStore,
        metrics: SelfMetrics,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        clients: Mapping[str, object] | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._clients = dict(clients or {})  # other APIs' clients a source asks for by name (Poll.clients)
        self._store = store
        self._metrics = metrics
        self._clock, self._monotonic = clock, monotonic
        self._rng = rng or random.Random()  # noqa: S311  interval jitter, not cryptography
        self._labeler = Labeler(settings.metrics)
        # Queues the operator named get their own series before any discovered one.
        self._labeler.start_poll({"queue": dict.fromkeys(settings.poll.queues, 1)})
        shared = Shared(CompletionTotals())
        polled = [source for source in REGISTRY if source.polled(settings)]
        self._sources: tuple[Source, ...] = tuple(source(settings, shared) for source in polled)
        self._results: dict[str, object] = {}  # each source's last good result
        self._outcomes = Outcomes(metrics, clock, lambda: self._stop.is_set())  # noqa: PLW0108  run() replaces _stop
        self._poll_lock = threading.Lock()
        self._pool: DaemonPool | None = None
        self._stop = threading.Event()
        self._liveness = Liveness(stall_limit(settings))
        self._report = PollReport(metrics)
        self._overdue = OverdueWatch(store, settings.poll.interval, clock=monotonic)

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources this poller refreshes (activity sources only with ``poll.activities``)."""
        return tuple(source.name for source in self._sources)

    @property
    def first_poll_done(self) -> threading.Event:
        """Set once the first snapshot is published (``/readyz``)."""
        return self._store.first_published

    def poll_once(self) -> Snapshot:
        """Refresh every source, build the snapshot, publish it and return it."""
        with self._poll_lock:
            self._report = PollReport(self._metrics)
            paging = Paging(self._settings.api.page_size, self._settings.api.max_pages, self._on_page)
            poll = Poll(self._client, paging, self._labeler, self._outcomes.skip, self._clients)
            breaker, pool = Breaker(), self._executor()
            runs = {source.name: SourceJobs[object](source.name, pool, breaker) for source in self._sources}
            try:
                for source in self._sources:
                    _submit(runs[source.name], source.requests(poll))
                self._settle_all(runs, poll)
            except BaseException:
                for run in runs.values():
                    run.cancel()
                raise
            snapshot = self._snapshot()
            self._overdue.published(self._store.publish(snapshot))
            self._report.finish(snapshot)
            return snapshot

    def run(self, stop: threading.Event) -> None:
        """Poll at once, then every interval ± jitter, until ``stop`` is set."""
        self._stop = stop
        self._liveness.thread = threading.current_thread()
        self._liveness.progress()
        self._overdue.published(self._store.generation)  # the first poll has its three intervals too
        threading.Thread(target=self._overdue.run, args=(stop,), name="acronis-overdue", daemon=True).start()
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.poll_once()
                except PollCancelled:
                    break
                except Exception:  # noqa: BLE001  the last line of defence: a bug must not end polling
                    _log.exception("poll_crashed")
                    self._metrics.poll_crashes.inc()
                self._liveness.progress()
                stop.wait(next_delay(self._settings.poll, self._rng, elapsed=time.monotonic() - started))
        finally:
            self._liveness.thread = None
            self.close()

    def healthy(self) -> bool:
        """Tell whether the loop runs and has made progress recently (``/healthz``)."""
        return self._liveness.healthy()

    def close(self) -> None:
        """Drop the jobs not yet started and release the pool, without waiting; a later poll starts a new one.

        Its workers are daemon threads, and cancelling runs no callback that submits again
        (jobs.py), so this returns at once whatever the API is doing.
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _settle_all(self, runs: Mapping[str, SourceJobs[object]], poll: Poll) -> None:
        """Settle the independent sources, seed the caps, fold them; then run the dependent ones."""
        self._outcomes.start_poll()
        first = [source for source in self._sources if source.after is None]
        replies = {source.name: self._outcomes.settle(runs[source.name]) for source in first}
        self._labeler.start_poll(
            merge_open_work(
                s.open_work(r, self._labeler) for s in first if (r := replies[s.name]) is not None
            )
        )
        for source in first:
            self._fold(source, replies[source.name], poll)
        for source in self._sources:
            if source.after is not None:
                _submit(runs[source.name], source.follow_up(poll))
                self._fold(source, self._outcomes.settle(runs[source.name]), poll)

    def _fold(self, source: Source, replies: Mapping[Hashable, object] | None, poll: Poll) -> None:
        """Fold a settled source's replies; a failed source (None) keeps its last good result."""
        if replies is None:
            return
        with self._outcomes.guarded(source.name):
            folded = source.fold(replies, poll)
            self._results[source.name] = folded.result
            self._outcomes.skip(source.name, folded.skipped)

    def _snapshot(self) -> Snapshot:
        return Snapshot(
            taken_at=self._clock(),
            taken_monotonic=self._monotonic(),
            sources={name: status for name in self.sources if (status := self._outcomes.status.get(name))},
            results=dict(self._results),
            tenants=self._labeler.tenants,
            tenants_folded=self._labeler.folded["tenant_id"],
            label_values_folded=dict(self._labeler.folded),
            items_skipped=dict(self._outcomes.skipped),
            dropped_labels=frozenset(self._settings.metrics.drop_labels),
            poll_interval_seconds=self._settings.poll.interval,
        )

    def _executor(self) -> DaemonPool:
        if self._pool is None:
            self._pool = DaemonPool(self._settings.api.concurrency, name="acronis-poll")
        return self._pool

    def _on_page(self, items: int) -> None:
        if self._stop.is_set():
            raise PollCancelled("stop requested")  # between pages: shutdown need not wait a whole walk
        self._report.tally.add(items)
        self._liveness.progress()


def _submit(run: SourceJobs[object], jobs: Mapping[Hashable, Callable[[], object]]) -> None:
    for key, job in jobs.items():
        run.submit(key, job)
