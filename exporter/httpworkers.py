"""The serving loop's worker threads: the requests the loop does not answer itself.

Two kinds, each on its own threads, so that neither waits behind the other: the scrape
that renders a new poll (one worker: renders share a lock per format anyway), and
credential checks that pay bcrypt's cost (about 100 ms each by design). A request is
handed to a thread only when one is free; until then it waits here, on the loop's thread,
where ``drop`` can take it back for good (its connection evicted): no thread ever holds
it, so nothing can run it or answer on its connection later. Checks waiting are bounded:
beyond twice their workers, ``submit`` refuses and the loop answers 503, so a flood of
wrong passwords holds neither memory nor every later check without bound. Replies come
back to the loop's thread through ``finished`` and a wake-up.

The threads are daemon threads (``workers.DaemonPool``): a stop never waits for a bcrypt
check or a render still running (at bcrypt's highest cost one check takes seconds), and
one that finishes after ``shutdown`` is forgotten: it neither queues a reply nor wakes
the loop, whose wake-up socket is closed by then.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict, deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar

from exporter import logs
from exporter.httpserver import error_reply
from exporter.httpwire import BadHead
from exporter.workers import DaemonPool

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Future

    from exporter.httpserver import Reply

log = logs.get_logger(component="server")

Work = Literal["render", "check"]  # what a slow request waits for
CHECK_WORKERS: Final = 4
CHECKS_HELD: Final = 3 * CHECK_WORKERS  # running and waiting: at most twice the workers wait
_THREADS: Final[dict[Work, int]] = {"render": 1, "check": CHECK_WORKERS}
_Conn = TypeVar("_Conn")


class Workers(Generic[_Conn]):
    """Runs slow requests by kind; ``take`` hands their replies to the loop's thread.

    Every method but the threads' own callback runs on the loop's thread.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._pools = {work: DaemonPool(threads, name=f"http-{work}") for work, threads in _THREADS.items()}
        self._closing = threading.Lock()  # a thread finishing wakes the loop only before shutdown
        self._closed = threading.Event()
        self._running: dict[Work, int] = dict.fromkeys(_THREADS, 0)  # handed to a thread, not yet taken back
        self._waiting: dict[Work, OrderedDict[_Conn, Callable[[], Reply]]] = {
            work: OrderedDict() for work in _THREADS
        }
        self._finished: deque[tuple[Work, _Conn, Reply]] = deque()  # appended by the threads

    def submit(self, work: Work, conn: _Conn, call: Callable[[], Reply]) -> bool:
        """Run ``call`` for ``conn`` on the threads of its kind; False when too many checks are held."""
        if work == "check" and self._running[work] + len(self._waiting[work]) >= CHECKS_HELD:
            return False
        self._waiting[work][conn] = call
        self._start_waiting(work)
        return True

    def drop(self, conn: _Conn) -> bool:
        """Forget ``conn``'s request if it still waits for a thread (True); False if it runs or ran."""
        return any(waiting.pop(conn, None) is not None for waiting in self._waiting.values())

    def take(self) -> Iterator[tuple[_Conn, Reply]]:
        """Yield the replies done since the last call, starting the requests waiting for their threads."""
        while self._finished:
            work, conn, reply = self._finished.popleft()
            self._running[work] -= 1
            self._start_waiting(work)
            yield conn, reply

    def shutdown(self) -> None:
        """Stop the threads without waiting; queued requests are dropped with their connections.

        Once this returns no thread touches the loop again: whatever still runs is abandoned.
        """
        with self._closing:
            self._closed.set()
        for waiting in self._waiting.values():
            waiting.clear()
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def _start_waiting(self, work: Work) -> None:
        waiting = self._waiting[work]
        if self._closed.is_set():  # shut down: nothing more starts, and the pool would refuse it
            return
        while waiting and self._running[work] < _THREADS[work]:  # a free thread: it starts at once
            conn, call = waiting.popitem(last=False)  # the one waiting longest
            self._running[work] += 1
            future = self._pools[work].submit(call)
            future.add_done_callback(functools.partial(self._done, work, conn))

    def _done(self, work: Work, conn: _Conn, future: Future[Reply]) -> None:
        if future.cancelled() or self._closed.is_set():  # shutting down: its connection is closed
            return
        reply = _reply_of(future)  # on the worker's thread
        with self._closing:  # held while waking: shutdown() cannot close the loop's socket meanwhile
            if self._closed.is_set():
                return
            self._finished.append((work, conn, reply))
            self._wake()


def _reply_of(future: Future[Reply]) -> Reply:
    try:
        return future.result()
    except Exception:  # serve() answers the app's failures itself: this is the worker's own
        log.exception("http_request_failed")
        return error_reply(BadHead(HTTPStatus.INTERNAL_SERVER_ERROR))
