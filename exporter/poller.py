"""The poller, a scheduler: every interval, run each registered source and publish one Snapshot.

It knows no source by name. One poll submits every source's ``requests`` to one bounded
thread pool (``api.concurrency`` workers), so a cycle costs about the longest listing walk,
not the sum of all requests. Each source is settled by ``Outcomes.settle`` (outcomes.py),
node_exporter's ``execute()``: success replaces the source's last good result; any
exception keeps it and fails that source alone, with the error's reason (``internal`` for
one that is not an ``ApiError``), counted and logged; every attempt is counted. The
independent sources' open items seed the label caps, then each is folded (labelled); a
source ``after`` another then sends its ``follow_up`` requests (the per-queue counts need
the labelled queues). Every source publishes its last good result into the snapshot.

The loop waits on its stop event between polls, never sleeps, and has one broad ``except``
besides the per-source ones: a bug is logged and counted, and polling goes on.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Final

from exporter import logs
from exporter.cardinality import Labeler
from exporter.grouping import CompletionTotals
from exporter.jobs import Breaker, PollCancelled, SourceJobs
from exporter.outcomes import Outcomes
from exporter.snapshot import Snapshot
from exporter.sources import REGISTRY
from exporter.sources.base import Paging, Poll, Shared
from exporter.workers import DaemonPool

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable, Iterable, Mapping

    from exporter.client import TaskManagerClient
    from exporter.config import Settings
    from exporter.selfmetrics import SelfMetrics
    from exporter.snapshot import SnapshotStore
    from exporter.sources.base import OpenWork, Source

STALL_INTERVALS: Final = 3  # healthy() tolerates this many intervals without progress, plus one request

_log = logs.get_logger(component="poller")


class _Tally:
    """Items listed in the poll in progress; pool threads add to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items = 0

    def add(self, items: int) -> None:
        with self._lock:
            self.items += items


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
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._store = store
        self._metrics = metrics
        self._clock = clock
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
        self._loop_thread: threading.Thread | None = None
        self._last_progress = time.monotonic()
        self._tally = _Tally()

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
            started = time.monotonic()
            self._tally = _Tally()
            sent_before = self._requests_sent()
            paging = Paging(self._settings.api.page_size, self._settings.api.max_pages, self._on_page)
            poll = Poll(self._client, paging, self._labeler, self._outcomes.skip)
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
            self._store.publish(snapshot)
            self._log_poll(snapshot, time.monotonic() - started, self._requests_sent() - sent_before)
            return snapshot

    def run(self, stop: threading.Event) -> None:
        """Poll at once, then every interval ± jitter, until ``stop`` is set."""
        self._stop = stop
        self._loop_thread = threading.current_thread()
        self._progress()
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
                self._progress()
                stop.wait(self._next_delay(time.monotonic() - started))
        finally:
            self._loop_thread = None
            self.close()

    def healthy(self) -> bool:
        """Tell whether the loop runs and has made progress recently (``/healthz``)."""
        thread = self._loop_thread
        if thread is None or not thread.is_alive():
            return False
        return time.monotonic() - self._last_progress <= self._stall_limit()

    def close(self) -> None:
        """Drop the jobs not yet started and release the pool, without waiting; a later poll starts a new one.

        Its workers are daemon threads, and cancelling runs no callback that submits again
        (jobs.py), so this returns at once whatever the API is doing.
        """
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # --- One poll ---------------------------------------------------------------------------

    def _settle_all(self, runs: Mapping[str, SourceJobs[object]], poll: Poll) -> None:
        """Settle the independent sources, seed the caps, fold them; then run the dependent ones."""
        self._outcomes.start_poll()
        first = [source for source in self._sources if source.after is None]
        replies = {source.name: self._outcomes.settle(runs[source.name]) for source in first}
        self._labeler.start_poll(
            _merge_open_work(
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
        parts: dict[str, object] = {}
        for source in self._sources:
            source.publish(self._results.get(source.name), parts)
        dropped = self._labeler.dropped_labels
        return Snapshot(
            taken_at=self._clock(),
            sources={name: status for name in self.sources if (status := self._outcomes.status.get(name))},
            results=dict(self._results),
            **parts,  # type: ignore[arg-type]  # each source publishes its own snapshot field
            tenants=self._labeler.tenants,
            tenants_folded=self._labeler.folded["tenant_id"],
            label_values_folded={k: v for k, v in self._labeler.folded.items() if k not in dropped},
            items_skipped=dict(self._outcomes.skipped),
            dropped_labels=dropped,
            poll_interval_seconds=self._settings.poll.interval,
        )

    def _log_poll(self, snapshot: Snapshot, duration: float, requests: float) -> None:
        failed = sorted(name for name, status in snapshot.sources.items() if not status.ok)
        _log.info(
            "poll_finished",
            duration_seconds=round(duration, 3),
            sources_ok=len(snapshot.sources) - len(failed),
            sources_failed=len(failed),
            failed=failed,
            items=self._tally.items,
            requests=int(requests),
        )

    # --- Loop plumbing ----------------------------------------------------------------------

    def _executor(self) -> DaemonPool:
        if self._pool is None:
            self._pool = DaemonPool(self._settings.api.concurrency, name="acronis-poll")
        return self._pool

    def _on_page(self, items: int) -> None:
        if self._stop.is_set():
            raise PollCancelled("stop requested")  # between pages: shutdown need not wait a whole walk
        self._tally.add(items)
        self._progress()

    def _requests_sent(self) -> float:
        """Every HTTP request sent so far, failed, retried and token ones included."""
        return sum(
            sample.value
            for family in self._metrics.api_requests.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        )

    def _progress(self) -> None:
        self._last_progress = time.monotonic()

    def _next_delay(self, elapsed: float) -> float:
        poll = self._settings.poll
        spread = poll.interval * poll.jitter
        return max(0.0, poll.interval + self._rng.uniform(-spread, spread) - elapsed)

    def _stall_limit(self) -> float:
        """Seconds without progress that still count as healthy: 3 intervals plus one slow request."""
        api = self._settings.api
        one_request = (api.max_retries + 1) * (api.timeout + max(api.backoff_max, api.retry_after_max))
        return STALL_INTERVALS * self._settings.poll.interval + one_request


def _submit(run: SourceJobs[object], jobs: Mapping[Hashable, Callable[[], object]]) -> None:
    for key, job in jobs.items():
        run.submit(key, job)


def _merge_open_work(parts: Iterable[OpenWork]) -> OpenWork:
    """Add up the sources' open items per capped label, dropping zeros."""
    merged: OpenWork = {}
    for part in parts:
        for label, counts in part.items():
            merged.setdefault(label, Counter()).update(counts)
    return {label: +counts for label, counts in merged.items()}  # unary +: drop the zeros
