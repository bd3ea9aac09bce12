"""The serving loop's worker threads: the requests the loop does not answer itself.

Two kinds, each on its own threads, so that neither waits behind the other: the scrape
that renders a new poll (one worker: renders share a lock per format anyway), and
credential checks that pay bcrypt's cost (about 100 ms each by design). Checks waiting
are bounded: beyond twice their workers, ``submit`` refuses and the loop answers 503, so
a flood of wrong passwords holds neither memory nor every later check without bound.
Replies come back to the loop's thread through ``finished`` and a wake-up.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from http import HTTPStatus
from typing import TYPE_CHECKING, Final, Generic, Literal, TypeVar

from exporter import logs
from exporter.httpserver import error_reply
from exporter.httpwire import BadHead

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from exporter.httpserver import Reply

log = logs.get_logger(component="server")

Work = Literal["render", "check"]  # what a slow request waits for
CHECK_WORKERS: Final = 4
CHECKS_HELD: Final = 3 * CHECK_WORKERS  # running and waiting: at most twice the workers wait
_Conn = TypeVar("_Conn")


class Workers(Generic[_Conn]):
    """Runs slow requests by kind; ``take`` hands their replies to the loop's thread."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._pools: dict[Work, ThreadPoolExecutor] = {
            "render": ThreadPoolExecutor(max_workers=1, thread_name_prefix="http-render"),
            "check": ThreadPoolExecutor(max_workers=CHECK_WORKERS, thread_name_prefix="http-check"),
        }
        self._checks = 0  # submitted and not yet taken back; counted on the loop's thread only
        self._finished: deque[tuple[Work, _Conn, Reply]] = deque()

    def submit(self, work: Work, conn: _Conn, call: Callable[[], Reply]) -> bool:
        """Run ``call`` for ``conn`` on the threads of its kind; False when too many checks are held."""
        if work == "check":
            if self._checks >= CHECKS_HELD:
                return False
            self._checks += 1
        future = self._pools[work].submit(call)
        future.add_done_callback(lambda done: self._done(work, conn, done))
        return True

    def take(self) -> Iterator[tuple[_Conn, Reply]]:
        """Yield the replies done since the last call (on the loop's thread)."""
        while self._finished:
            work, conn, reply = self._finished.popleft()
            if work == "check":
                self._checks -= 1
            yield conn, reply

    def shutdown(self) -> None:
        """Stop the threads without waiting; queued requests are dropped with their connections."""
        for pool in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def _done(self, work: Work, conn: _Conn, future: Future[Reply]) -> None:
        if future.cancelled():  # shutting down: its connection is closed
            return
        self._finished.append((work, conn, _reply_of(future)))  # on the worker's thread
        self._wake()


def _reply_of(future: Future[Reply]) -> Reply:
    try:
        return future.result()
    except Exception:  # serve() answers the app's failures itself: this is the worker's own
        log.exception("http_request_failed")
        return error_reply(BadHead(HTTPStatus.INTERNAL_SERVER_ERROR))
