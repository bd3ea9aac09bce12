"""The poller: every interval, refresh each source and publish a new immutable Snapshot.

One poll submits every source's jobs to one bounded thread pool (``api.concurrency``
workers), so a cycle costs about the longest listing walk, not the sum of all requests.
Each source is settled by ``Outcomes.settle`` (outcomes.py), node_exporter's ``execute()``:
success replaces the source's data; any exception keeps the last good data and fails that
source alone, with the error's reason (``internal`` for one that is not an ``ApiError``),
counted and logged; every attempt is counted. Completion walks are
committed only when complete (see completions.py). Then the raw aggregates are labelled
(grouping.py), queues are counted for the labelled queues, and the snapshot is published.

The loop waits on its stop event between polls, never sleeps, and has one broad ``except``
besides the per-source ones: a bug is logged and counted, and polling goes on.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING, Final, TypeVar

from exporter import logs
from exporter.cardinality import Labeler
from exporter.completions import CompletionTracker
from exporter.grouping import CompletionTotals, label_open_activities, label_open_tasks, open_work_weights
from exporter.jobs import PollCancelled, submit_counts, submit_poll
from exporter.outcomes import Outcomes
from exporter.selfmetrics import SOURCES
from exporter.snapshot import Snapshot
from exporter.sources import ACTIVITIES, TASKS, Paging, assemble_counts, queue_count_queries, sendable
from exporter.vocabulary import OTHER, UNKNOWN
from exporter.workers import DaemonPool

if TYPE_CHECKING:
    from collections.abc import Callable

    from exporter.client import TaskManagerClient
    from exporter.config import Settings
    from exporter.jobs import PollJobs, SourceJobs
    from exporter.selfmetrics import SelfMetrics
    from exporter.snapshot import Counts, OpenActivities, OpenTasks, SnapshotStore

T = TypeVar("T")
STALL_INTERVALS: Final = 3  # healthy() tolerates this many intervals without progress, plus one request
ACTIVITY_SOURCES: Final = frozenset({"activity_counts", "open_activities", "completed_activities"})

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
        overlap = settings.poll.completion_overlap
        self._trackers = {
            "completed_tasks": CompletionTracker(overlap=overlap, fields=TASKS.completion_fields),
            "completed_activities": CompletionTracker(overlap=overlap, fields=ACTIVITIES.completion_fields),
        }
        self._totals = CompletionTotals()
        self._task_counts: Counts | None = None
        self._activity_counts: Counts | None = None
        self._open_tasks: OpenTasks | None = None
        self._open_activities: OpenActivities | None = None
        self._outcomes = Outcomes(metrics, clock, lambda: self._stop.is_set())  # noqa: PLW0108  run() replaces _stop
        self._unsendable: set[int] = set()  # hashes of queue names counted as unsendable
        self._poll_lock = threading.Lock()
        self._pool: DaemonPool | None = None
        self._stop = threading.Event()
        self._loop_thread: threading.Thread | None = None
        self._last_progress = time.monotonic()
        self._tally = _Tally()

    @property
    def sources(self) -> tuple[str, ...]:
        """The sources this poller refreshes (activity sources only with ``poll.activities``)."""
        return tuple(s for s in SOURCES if self._settings.poll.activities or s not in ACTIVITY_SOURCES)

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
            runs = submit_poll(
                self._executor(),
                self._client,
                paging,
                self._trackers,
                activities=self._settings.poll.activities,
            )
            try:
                self._settle_all(runs, paging)
            except BaseException:
                runs.cancel()
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

    def _settle_all(self, runs: PollJobs, paging: Paging) -> None:
        """Settle the listings, label them, then count the labelled queues and settle the counts."""
        outcomes = self._outcomes
        outcomes.start_poll()
        task_scan = self._settle_one(runs.open_tasks)
        activity_scan = self._settle_one(runs.open_activities) if runs.open_activities else None
        self._labeler.start_poll(open_work_weights(task_scan, activity_scan, self._labeler))
        if task_scan is not None:
            with outcomes.guarded("open_tasks"):
                self._open_tasks = label_open_tasks(task_scan, self._labeler)
                outcomes.skip("open_tasks", task_scan.skipped)
        if activity_scan is not None:
            with outcomes.guarded("open_activities"):
                self._open_activities = label_open_activities(activity_scan, self._labeler)
                outcomes.skip("open_activities", activity_scan.skipped)
        for run in (runs.completed_tasks, runs.completed_activities):
            walk = self._settle_one(run) if run is not None else None
            if run is not None and walk is not None:  # a failed walk counts nothing and W stays
                with outcomes.guarded(run.name):
                    self._trackers[run.name].commit(walk)
                    self._totals.add(walk.counted, self._labeler)
                    outcomes.skip(run.name, walk.skipped)
        queues = queue_count_queries(self._queues_to_count())
        submit_counts(runs.task_counts, self._client, "tasks", queues, paging)
        counts = outcomes.settle(runs.task_counts)
        if counts is not None:
            self._task_counts = assemble_counts(counts)
        activity_counts = outcomes.settle(runs.activity_counts) if runs.activity_counts else None
        if activity_counts is not None:
            self._activity_counts = assemble_counts(activity_counts)

    def _settle_one(self, run: SourceJobs[T]) -> T | None:
        """Settle a source of one job (a listing walk); None when it failed."""
        results = self._outcomes.settle(run)
        return None if results is None else results[run.name]

    def _queues_to_count(self) -> tuple[str, ...]:
        if "queue" in self._labeler.dropped_labels:
            return ()
        named = self._settings.poll.queues or self._labeler.admitted("queue")
        queues = tuple(queue for queue in named if queue not in (OTHER, UNKNOWN, ""))
        for queue in queues:  # such a queue is left out of the counts, and counted once
            if not sendable(queue) and hash(queue) not in self._unsendable:
                self._unsendable.add(hash(queue))
                self._outcomes.skip("task_counts", {"unsendable": 1})
        return queues

    def _snapshot(self) -> Snapshot:
        tracked = {source: tracker for source, tracker in self._trackers.items() if tracker.baselined}
        watermarks = {
            source.removeprefix("completed_"): tracker.watermark
            for source, tracker in tracked.items()
            if tracker.watermark is not None
        }
        dropped = self._labeler.dropped_labels
        return Snapshot(
            taken_at=self._clock(),
            sources={name: status for name in self.sources if (status := self._outcomes.status.get(name))},
            task_counts=self._task_counts,
            activity_counts=self._activity_counts,
            open_tasks=self._open_tasks,
            open_activities=self._open_activities,
            completions=self._totals.freeze(watermarks) if tracked else None,
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
