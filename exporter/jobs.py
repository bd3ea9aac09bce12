"""The jobs of one poll, run on the poller's shared thread pool.

A source is one or more independent jobs (a count query each, or one listing walk, which
is a sequential chain of pages). ``SourceJobs`` submits them, times them, and hands back
every result, or the first error once all of them have finished, so a failed source leaves
no stragglers behind to overlap with the next poll. The poller queues every source of one
poll at once, so a poll costs about its longest chain, not the sum of its requests.

A failure stops what would only fail again, so an unhealthy API never sees more requests
than a healthy one: the rest of a failed source's jobs are not sent, and when the API
refuses us as a whole (401, 403, throttling that outlasted our retries) the ``Breaker``
fails every job of the poll that has not started yet, with the same error.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from concurrent.futures import CancelledError, Future
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from exporter.errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable
    from concurrent.futures import Executor

T = TypeVar("T")
R = TypeVar("R")
POLL_WIDE_REASONS: Final = frozenset({"auth", "forbidden", "throttled"})


class Breaker:
    """Remembers the first error that dooms a whole poll; jobs not yet started fail with it."""

    def __init__(self, reasons: frozenset[str] | None = POLL_WIDE_REASONS) -> None:
        self._reasons = reasons  # None: any error trips it
        self._error: ApiError | None = None

    def trip(self, error: ApiError) -> None:
        """Record ``error`` if it concerns every request, not just the one that got it."""
        if self._error is None and (self._reasons is None or error.reason in self._reasons):
            self._error = error

    def check(self) -> None:
        """Raise (a copy of) the recorded error, if any; each job gets its own exception object."""
        if self._error is not None:
            raise copy.copy(self._error)


class PollCancelled(Exception):
    """Shutdown interrupted a poll; nothing from it is published."""


class SourceJobs(Generic[T]):
    """Futures of one source; the source is as slow as its slowest job, not the sum of them.

    The first job goes alone, as a probe: the others are sent once it succeeded, so an
    endpoint that fails costs one (retried) request per source, not one per count.
    """

    def __init__(self, name: str, pool: Executor, breaker: Breaker | None = None) -> None:
        self.name = name
        self._pool = pool
        self._breaker = breaker or Breaker()
        self._own = Breaker(reasons=None)  # once one job failed, the source has failed
        self._futures: dict[Hashable, Future[T]] = {}
        self._probe: Future[T] | None = None
        self._released = False  # the probe has finished: jobs go straight to the pool
        self._held: list[tuple[Future[T], Callable[[], T]]] = []  # waiting for the probe
        self._lock = threading.Lock()
        self._first_start: float | None = None
        self._last_end: float | None = None

    def submit(self, key: Hashable, job: Callable[[], T]) -> None:
        """Queue ``job``; its result will be found under ``key``."""
        with self._lock:
            if self._probe is None:
                future = self._to_pool(partial(self._probe_then_release, job))
                self._probe = future
            elif self._released:
                future = self._to_pool(partial(self._timed, job))
            else:
                future = Future()
                self._held.append((future, job))
            self._futures[key] = future

    def results(self) -> dict[Hashable, T]:
        """Wait for every job; return their results, or raise the first error in submission order."""
        futures = list(self._futures.values())
        if self._probe is not None:
            _settle(self._probe)  # the probe releases the held jobs: only then are all futures live
            if self._probe.cancelled():  # it never ran, so nothing will release them
                self._cancel_held()
        for future in futures:
            _settle(future)
        if any(future.cancelled() for future in futures):
            raise PollCancelled(self.name)
        return {key: future.result() for key, future in self._futures.items()}

    def cancel(self) -> None:
        """Drop the jobs that have not started (shutdown, or another source crashed the poll)."""
        for future in self._futures.values():
            future.cancel()

    def _to_pool(self, call: Callable[[], R]) -> Future[R]:
        """Submit ``call`` to the pool; after its shutdown, return a future already cancelled."""
        try:
            return self._pool.submit(call)
        except RuntimeError:  # the pool was shut down: nothing more will run
            future: Future[R] = Future()
            future.cancel()
            return future

    def _probe_then_release(self, job: Callable[[], T]) -> T:
        """Run the probe, then send the jobs it held back.

        The release runs here, in the worker, never in a done-callback: a callback may run
        inside the pool's shutdown (cancelling the probe), where submitting would deadlock.
        """
        try:
            return self._timed(job)
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            held, self._held, self._released = self._held, [], True
        for placeholder, job in held:
            inner = self._to_pool(partial(self._run_into, placeholder, job))
            inner.add_done_callback(partial(_cancel_unfilled, placeholder))

    def _cancel_held(self) -> None:
        with self._lock:
            held, self._held, self._released = self._held, [], True
        for placeholder, _ in held:
            placeholder.cancel()

    def _run_into(self, placeholder: Future[T], job: Callable[[], T]) -> None:
        if not placeholder.set_running_or_notify_cancel():
            return
        try:
            placeholder.set_result(self._timed(job))
        except BaseException as error:  # noqa: BLE001  handed to whoever waits on the placeholder
            placeholder.set_exception(error)

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
            self._breaker.check()
            self._own.check()
            return job()
        except ApiError as error:
            self._breaker.trip(error)
            self._own.trip(error)
            raise
        finally:
            ended = time.monotonic()
            with self._lock:
                self._last_end = ended if self._last_end is None else max(self._last_end, ended)


def _settle(future: Future[Any]) -> None:
    """Wait until ``future`` is done or cancelled.

    Not ``concurrent.futures.wait``: it misses a future cancelled by a pool's shutdown,
    which never notifies its waiters, and would wait forever.
    """
    with contextlib.suppress(CancelledError):
        future.exception()


def _cancel_unfilled(placeholder: Future[Any], done: Future[Any]) -> None:
    """Cancel ``placeholder`` when the pool cancelled the job that was to fill it (plain futures only)."""
    if done.cancelled():
        placeholder.cancel()
