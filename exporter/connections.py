"""How many connections the web server holds, and which one gives way when it is full.

Each connection costs a file descriptor. Without a bound, a client that opens a thousand
idle sockets (or one that trickles its request a byte at a time) exhausts the descriptors
and no scrape gets through; here a newcomer always finds a slot, by evicting the
connection that has waited longest without sending its request. Used only from the
serving loop's thread (``httploop``), so it takes no lock.
"""

from __future__ import annotations

import resource
from collections import OrderedDict
from typing import TYPE_CHECKING, Generic, TypeVar

from exporter import logs

if TYPE_CHECKING:
    from collections.abc import Callable

log = logs.get_logger(component="server")

_Conn = TypeVar("_Conn")


class Connections(Generic[_Conn]):
    """The connections being served, at most ``limit``: a newcomer evicts the one idle longest.

    A connection is idle until its whole header block has arrived (slowloris, a port
    scanner, a pool of keep-alive sockets) and busy while its request is served.
    ``evict`` closes a connection chosen to make room.
    """

    def __init__(self, limit: int, evict: Callable[[_Conn], None]) -> None:
        self.limit = limit
        self._evict = evict
        self._idle: OrderedDict[_Conn, None] = OrderedDict()  # the one idle longest first
        self._busy: set[_Conn] = set()

    def admit(self, conn: _Conn, spare: Callable[[_Conn], bool]) -> bool:
        """Make room for ``conn`` (evicting idle ones, ``spare`` ones last); False when every slot is busy."""
        while len(self._idle) + len(self._busy) >= self.limit:
            # Those accepted in this batch last: a newcomer always finds a slot if one is idle.
            if not (self.evict_oldest(spare) or self.evict_oldest(_spare_none)):
                return False
        self._idle[conn] = None
        return True

    def busy(self, conn: _Conn) -> None:
        """Record that the connection's request (its line and header block) arrived."""
        if self._idle.pop(conn, False) is None:
            self._busy.add(conn)

    def rest(self, conn: _Conn) -> None:
        """Record that the connection answered its request and waits for the next: idle again."""
        if conn in self._busy:
            self._busy.discard(conn)
            self._idle[conn] = None  # the newest idler: evicted last

    def done(self, conn: _Conn) -> None:
        """Forget a connection that is being closed."""
        self._idle.pop(conn, None)
        self._busy.discard(conn)

    def evict_oldest(self, spare: Callable[[_Conn], bool]) -> bool:
        """Close the connection idle longest that is not ``spare``; False when there is none.

        The loop spares those it accepted in the same batch: their request has not been
        read yet, and a client's connection closed unanswered would be a probe failed.
        """
        oldest = next((conn for conn in self._idle if not spare(conn)), None)
        if oldest is None:
            return False
        del self._idle[oldest]
        log.debug("http_connection_evicted", reason="idle", limit=self.limit)
        self._evict(oldest)
        return True


def _spare_none(_conn: object) -> bool:
    return False


def connection_limit(wanted: int) -> int:
    """Return ``wanted``, lowered to half the file descriptors the process may open."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return wanted if soft == resource.RLIM_INFINITY else max(2, min(wanted, soft // 2))
