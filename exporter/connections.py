"""How many connections the web server holds, and which one gives way when it is full.

Each connection costs a thread and a file descriptor. Without a bound, a client that opens
a thousand idle sockets (or one that trickles its request a byte at a time) exhausts the
descriptors and no scrape gets through; here a newcomer always finds a slot, by evicting
the connection that has waited longest without sending its request.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import threading
from collections import OrderedDict

from exporter import logs

log = logs.get_logger(component="server")


class Connections:
    """The connections being served, at most ``limit``: a newcomer evicts the one idle longest.

    A connection is idle until its whole header block has arrived (slowloris, a port
    scanner, a pool of keep-alive sockets) and busy while its request is served. Evicting shuts the
    socket down, which ends the blocked read in its thread; the thread closes it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._idle: OrderedDict[socket.socket, socket.socket] = OrderedDict()  # accepted -> live socket
        self._busy: set[socket.socket] = set()
        self._accepted: dict[socket.socket, socket.socket] = {}  # live socket -> accepted

    def admit(self, sock: socket.socket) -> bool:
        """Make room for ``sock`` (evicting idle ones); False when every slot is busy serving."""
        with self._lock:
            while len(self._idle) + len(self._busy) >= self.limit and self._idle:
                self._evict_oldest()
            if len(self._busy) >= self.limit:
                return False
            self._idle[sock] = sock
            self._accepted[sock] = sock
            return True

    def wrapped(self, sock: socket.socket, live: socket.socket) -> None:
        """Record that ``sock`` is now served through ``live`` (its TLS wrapper)."""
        with self._lock:
            if sock in self._idle:
                self._idle[sock] = live
                self._accepted[live] = sock

    def busy(self, live: socket.socket) -> None:
        """Record that the connection's request (its line and header block) arrived."""
        with self._lock:
            sock = self._accepted.get(live, live)
            if self._idle.pop(sock, None) is not None:
                self._busy.add(sock)

    def rest(self, live: socket.socket) -> None:
        """Record that the connection answered its request and waits for the next: idle again."""
        with self._lock:
            sock = self._accepted.get(live, live)
            if sock in self._busy:
                self._busy.discard(sock)
                self._idle[sock] = live  # the newest idler: evicted last

    def done(self, sock: socket.socket) -> None:
        """Forget a connection that is being closed."""
        with self._lock:
            live = self._idle.pop(sock, None)
            self._busy.discard(sock)
            self._accepted.pop(sock, None)
            if live is not None:
                self._accepted.pop(live, None)

    def evict_oldest(self) -> None:
        """Close the connection idle longest, if any (accept ran out of file descriptors)."""
        with self._lock:
            if self._idle:
                self._evict_oldest()

    def _evict_oldest(self) -> None:
        _, live = self._idle.popitem(last=False)
        self._accepted.pop(live, None)
        # socket.socket's own shutdown: an SSLSocket's would drop its TLS state under the reader.
        with contextlib.suppress(OSError):  # already gone
            socket.socket.shutdown(live, socket.SHUT_RDWR)
        log.debug("http_connection_evicted", reason="idle", limit=self.limit)


def connection_limit(wanted: int) -> int:
    """Return ``wanted``, lowered to half the file descriptors the process may open."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return wanted if soft == resource.RLIM_INFINITY else max(2, min(wanted, soft // 2))
