"""A TCP forwarder in front of the simulator that can make the API unreachable on demand.

The simulator answers every request it receives; "connection refused" is a property of
the network, not of the API. ``NetGate`` listens on its own loopback port, relays bytes to
the simulator, and on ``refuse()`` closes its listener and every relayed connection, so
the exporter's next connect gets ECONNREFUSED exactly as from a data centre that is down.
``admit()`` listens again on the same port. It relays bytes untouched: no HTTP parsing.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading

from tests.support.lifetime import StopsOnExit

_CHUNK = 65536


class NetGate(StopsOnExit):
    """Relay 127.0.0.1:<port> to ``upstream``; ``refuse()`` and ``admit()`` switch it off and on."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self.port = 0
        self._listen()

    @property
    def url(self) -> str:
        """Base URL of the gate, to hand the exporter as its API URL."""
        return f"http://127.0.0.1:{self.port}"

    def refuse(self) -> None:
        """Stop listening and cut every relayed connection: new connects are refused."""
        with self._lock:
            listener, self._listener = self._listener, None
            live, self._open = self._open, set()
        if listener is not None:
            _close(listener)
        for sock in live:
            _close(sock)

    def admit(self) -> None:
        """Listen again on the same port."""
        with self._lock:
            if self._listener is not None:
                return
        self._listen()

    def stop(self) -> None:
        """Refuse for good."""
        self.refuse()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # rebind right after refuse()
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(
            target=self._accept_loop, args=(listener,), name="netgate-accept", daemon=True
        ).start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # refuse() shut the listener down
                return
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                _close(client)
                continue
            if not self._track(client, server):
                _close(client)
                _close(server)
                return
            finished = threading.Barrier(2, action=functools.partial(self._forget, client, server))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(
                    target=_pump, args=(source, sink, finished), name="netgate-pump", daemon=True
                ).start()

    def _track(self, *socks: socket.socket) -> bool:
        with self._lock:
            if self._listener is None:
                return False
            self._open.update(socks)
            return True

    def _forget(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.difference_update(socks)
        for sock in socks:
            _close(sock)


def _pump(source: socket.socket, sink: socket.socket, finished: threading.Barrier) -> None:
    """Copy bytes one way until EOF; the last of a connection's two pumps closes both sockets."""
    try:
        while chunk := source.recv(_CHUNK):
            sink.sendall(chunk)
    except OSError:
        pass  # the peer or refuse() closed the connection
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)  # pass the half-close on, as a real network would
    with contextlib.suppress(threading.BrokenBarrierError):
        finished.wait()


def _close(sock: socket.socket) -> None:
    """Shut a socket down (wakes a thread blocked on it) and close it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
