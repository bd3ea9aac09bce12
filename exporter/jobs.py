"""The jobs of one source in one poll, run on the poller's shared thread pool.

A source is one or more independent jobs (a count query each, or one listing walk, which
is a sequential chain of pages). ``SourceJobs`` submits them, times them, and hands back
every result, or the first error once all of them have finished, so a failed source leaves
no stragglers behind to overlap with the next poll.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, wait
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from concurrent.futures import Executor

T = TypeVar("T")


class SourceJobs(Generic[T]):
    """Futures of one source; the source is as slow as its slowest job, not the sum of them."""

    def __init__(self, name: str, pool: Executor) -> None:
        self.name = name
        self._pool = pool
        self._futures: dict[Hashable, Future[T]] = {}
        self._lock = threading.Lock()
        self._first_start: float | None = None
        self._last_end: float | None = None

    def submit(self, key: Hashable, job: Callable[[], T]) -> None:
        """Queue ``job``; its result will be found under ``key``."""
        self._futures[key] = self._pool.submit(self._timed, job)

    def results(self) -> dict[Hashable, T]:
        """Wait for every job; return their results, or raise the first error in submission order."""
        wait(self._futures.values())
        return {key: future.result() for key, future in self._futures.items()}

    def cancel(self) -> None:
        """Drop the jobs that have not started (shutdown, or another source crashed the poll)."""
        for future in self._futures.values():
            future.cancel()

    @property
    def duration(self) -> float:
        """Seconds from the first job's start to the last job's end (0 if none ran)."""
        with self._lock:
            if self._first_start is None or self._last_end is None:
                return 0.0
            return max(0.0, self._last_end - self._first_start)

    def _timed(self, job: Callable[[], T]) -> T:
        started = time.monotonic()
        with self._lock:
            if self._first_start is None or started < self._first_start:
                self._first_start = started
        try:
            return job()
        finally:
            ended = time.monotonic()
            with self._lock:
                self._last_end = ended if self._last_end is None else max(self._last_end, ended)
