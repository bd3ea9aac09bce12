"""How many connections the web server holds, and which one gives way when it is full.

Each connection costs a file descriptor. Without a bound, a client that opens a thousand
idle sockets (or one that trickles its request a byte at a time) exhausts the descriptors
and no scrape gets through; here a newcomer finds a slot by evicting, in this order:

1. the connection idle longest: no request in (slowloris, a port scanner, a pool of
   keep-alive sockets);
2. a request that only waits (for a credential-check thread, or its turn behind the one
   just answered on its connection), the one that waited least first: no work is lost,
   and wrong passwords pipelined on every connection cannot hold them all;
3. a reply the client is not reading, the one stalled longest.

Never a request running on a worker thread (at most five), nor a connection accepted
less than ``FIRST_REQUEST_GRACE`` ago that has not been answered yet: evicting those
made clients that connect again at once (after each 503, or each eviction) evict each
other's newcomers, probes among them, before their request could arrive. With none to
evict, the newcomer waits (``admit`` False) instead. Used only from the serving loop's
thread (``httploop``), so it takes no lock.
"""

from __future__ import annotations

import resource
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Final, Generic, Protocol, TypeVar

from exporter import logs

if TYPE_CHECKING:
    from collections.abc import Callable

log = logs.get_logger(component="server")

# Seconds a newcomer's request has to arrive before it gives way as readily as an idler's:
# the kubelet gives a probe one second by default.
FIRST_REQUEST_GRACE: Final = 1.0


class Slot(Protocol):
    """What eviction looks at in a connection."""

    accepted_at: float  # time.monotonic() when accepted
    fresh: bool  # no request answered yet
    in_worker: bool  # its request is with the worker threads: waiting for one, or running
    deadline: float  # pushed back by each step a reply makes

    @property
    def sending(self) -> bool:
        """Whether part of a reply is still to be sent."""


_Conn = TypeVar("_Conn", bound=Slot)


class Connections(Generic[_Conn]):
    """The connections being served, at most ``limit``; a newcomer evicts one that can give way.

    A connection is idle until its whole header block has arrived and busy while its
    request is served. ``evict`` closes a connection chosen to make room; ``drop_waiting``
    takes back a request waiting for a worker thread, False when it already runs.
    """

    def __init__(
        self, limit: int, evict: Callable[[_Conn], None], drop_waiting: Callable[[_Conn], bool]
    ) -> None:
        self.limit = limit
        self._evict, self._drop_waiting = evict, drop_waiting
        self._idle: OrderedDict[_Conn, None] = OrderedDict()  # the one idle longest first
        self._busy: OrderedDict[_Conn, None] = OrderedDict()  # the one busy longest first

    def admit(self, conn: _Conn) -> bool:
        """Make room for ``conn``; False when every slot's request runs on a worker thread."""
        while len(self._idle) + len(self._busy) >= self.limit:
            if not self.make_room(_newcomer):
                return False
        self._idle[conn] = None
        return True

    def busy(self, conn: _Conn) -> None:
        """Record that the connection's request (its line and header block) arrived."""
        if self._idle.pop(conn, False) is None:
            self._busy[conn] = None

    def rest(self, conn: _Conn) -> None:
        """Record that the connection answered its request and waits for the next: idle again."""
        if self._busy.pop(conn, False) is None:
            self._idle[conn] = None  # the newest idler: evicted last

    def done(self, conn: _Conn) -> None:
        """Forget a connection that is being closed."""
        self._idle.pop(conn, None)
        self._busy.pop(conn, None)

    def make_room(self, spare: Callable[[_Conn], bool]) -> bool:
        """Evict one connection, never one idle that ``spare`` names; False when none can give way.

        The loop spares those just accepted: their request may be on its way, and a
        client's connection closed unanswered would be a probe failed.
        """
        return self._evict_idle(spare) or self._evict_waiting() or self._evict_stalled()

    def _evict_idle(self, spare: Callable[[_Conn], bool]) -> bool:
        oldest = next((conn for conn in self._idle if not spare(conn)), None)
        if oldest is None:
            return False
        del self._idle[oldest]
        self._evicted(oldest, "idle")
        return True

    def _evict_waiting(self) -> bool:
        for conn in reversed(self._busy):
            if not conn.sending and (not conn.in_worker or self._drop_waiting(conn)):
                del self._busy[conn]
                self._evicted(conn, "request waiting")
                return True
        return False

    def _evict_stalled(self) -> bool:
        sending = (conn for conn in self._busy if conn.sending)
        stalled = min(sending, key=lambda conn: conn.deadline, default=None)  # least recent progress
        if stalled is None:
            return False
        del self._busy[stalled]
        self._evicted(stalled, "reply not read")
        return True

    def _evicted(self, conn: _Conn, reason: str) -> None:
        log.debug("http_connection_evicted", reason=reason, limit=self.limit)
        self._evict(conn)


def _newcomer(conn: Slot) -> bool:
    return conn.fresh and time.monotonic() - conn.accepted_at < FIRST_REQUEST_GRACE


def connection_limit(wanted: int) -> int:
    """Return ``wanted``, lowered to half the file descriptors the process may open."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return wanted if soft == resource.RLIM_INFINITY else max(2, min(wanted, soft // 2))
