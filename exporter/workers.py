"""A fixed pool of daemon worker threads: shutdown never waits for a request stuck on the wire.

``concurrent.futures.ThreadPoolExecutor`` joins its workers when the interpreter exits, so a
worker blocked in a read (a hung API, a stalled DNS lookup) holds up the process after
SIGTERM. These workers are daemon threads, and ``shutdown`` cancels queued jobs after
releasing its lock, so a callback on a cancelled future can never deadlock against it.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

P = ParamSpec("P")
T = TypeVar("T")
_Job = tuple[Future[Any], "Callable[[], Any]"]


class DaemonPool(Executor):
    """Runs submitted callables on up to ``workers`` daemon threads."""

    def __init__(self, workers: int, name: str) -> None:
        self._size, self._name = workers, name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()  # guards _closed and _threads; never held while a future runs callbacks
        self._closed = False
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; raise RuntimeError after shutdown."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs.put((future, lambda: fn(*args, **kwargs)))
            if len(self._threads) < self._size:
                self._start_worker()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:  # noqa: FBT001, FBT002 - Executor's signature
        """Refuse new jobs, cancel queued ones when asked, and let the workers end."""
        with self._lock:
            first = not self._closed
            self._closed = True
            threads = list(self._threads)
        dropped: list[_Job] = []
        stop_marks = len(threads) if first else 0
        while cancel_futures:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                stop_marks += 1  # an earlier shutdown's: put it back
            else:
                dropped.append(job)
        for _ in range(stop_marks):
            self._jobs.put(None)  # one stop mark per worker, after whatever still runs
        for future, _ in dropped:  # outside every lock: their callbacks may do what they like
            if future.cancel():
                future.set_running_or_notify_cancel()  # wakes concurrent.futures.wait() too
        if wait:
            for thread in threads:
                thread.join()

    def _start_worker(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, call = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(error)
            else:
                future.set_result(result)
