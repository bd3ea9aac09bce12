"""The web server's one serving thread: a selector loop over every connection.

One thread accepts, reads, parses (``httpwire``), calls the WSGI app (``httpserver``) and
writes, on non-blocking sockets (``httpconn``); requests are answered in the order they
arrived whole, one per connection per turn: a scrape waits at most for the requests that
arrived before it (a thread per connection served 20 scrapers in random order). Only
requests the app says are slow (``worker_for``: a bcrypt check, or a scrape of a poll not
rendered yet) run on worker threads (``httpworkers``); their reply is written from the
loop. A connection idle between requests, or whose request line and header block have
not arrived within one ``CONNECTION_TIMEOUT`` of its first byte, is closed. Newcomers
are accepted at the end of a turn, every request in answered; ``connections`` picks who
gives way, and a newcomer with no slot to free waits, the next ones in the backlog. Out
of file descriptors likewise, a connection of the same batch spared.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import selectors
import socket
import threading
import time
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from exporter import logs
from exporter.connections import Connections
from exporter.httpconn import READ, Connection
from exporter.httpserver import closes_after, error_reply, request_environ, serve
from exporter.httpwire import BadHead, parse_head
from exporter.httpworkers import Workers

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Mapping
    from wsgiref.types import WSGIApplication, WSGIEnvironment

    from exporter.httpserver import Reply
    from exporter.httpworkers import Work

log = logs.get_logger(component="server")

_TICK: Final = 0.25  # seconds between looks at the deadlines and the stop flag
_ACCEPT_PAUSE: Final = 0.02  # seconds to stop accepting when no slot or file descriptor can be freed
_ACCEPTS_PER_TURN: Final = 64
_ACCEPT, _WAKE = object(), object()


class ServingLoop:
    """Serves ``app`` on the connections ``listening`` accepts, until ``stop()``."""

    def __init__(
        self,
        listening: socket.socket,
        app: WSGIApplication,
        *,
        tls: ssl.SSLContext | None,
        limit: int,
        base_environ: Mapping[str, object],
    ) -> None:
        self._listening, self._app, self._tls, self._base = listening, app, tls, base_environ
        listening.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        self._worker_for: Callable[[WSGIEnvironment], Work | None] | None = getattr(app, "worker_for", None)
        self._selector = selectors.DefaultSelector()
        self._selector.register(listening, READ, _ACCEPT)
        self._wake_in, self._wake_out = socket.socketpair()
        for end in (self._wake_in, self._wake_out):
            end.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        self._selector.register(self._wake_in, READ, _WAKE)
        self._workers: Workers[Connection] = Workers(self._wake)
        self.connections: Connections[Connection] = Connections(limit, self._close, self._workers.drop)
        self._open: set[Connection] = set()
        self._ready: deque[Connection] = deque()  # requests arrived whole, oldest first
        self._next: deque[Connection] = deque()  # a pipelined request behind one just answered: next turn
        self._stopping, self.stopped = threading.Event(), threading.Event()
        self._held: Connection | None = None  # accepted, waiting for a slot
        self._turns, self._next_sweep = 0, 0.0
        self._accept_paused_until, self._out_of_files_logged = 0.0, -60.0

    def run(self) -> None:
        """Serve on this thread until ``stop()``."""
        try:
            while not self._stopping.is_set():
                self._turn()
        finally:
            self._close_all()
            self.stopped.set()

    def stop(self) -> None:
        """Ask the loop to end (from any thread); it closes every connection on its way out."""
        self._stopping.set()
        self._wake()

    def _turn(self) -> None:
        self._turns += 1
        timeout = 0 if self._next else _TICK
        if self._accept_paused_until:  # resumed on time, not at the next tick
            timeout = min(timeout, max(0.0, self._accept_paused_until - time.monotonic()))
        ready = [key.data for key, _ in self._selector.select(timeout)]
        for data in ready:
            self._guarded(self._dispatch, data)  # the listening socket's last, below
        for conn, reply in self._workers.take():
            conn.in_worker = False
            if not conn.closed:
                self._guarded(functools.partial(self._reply, reply=reply), conn)
        # A pipelined request after those that arrived since: one answer per select() per client.
        self._ready.extend(self._next)
        self._next.clear()
        for _ in range(len(self._ready)):
            self._guarded(self._answer, self._ready.popleft())
        if _ACCEPT in ready or self._held:  # last: no connection then holds a request unanswered
            self._guarded(self._accept, _ACCEPT)
        now = time.monotonic()
        if self._accept_paused_until and now >= self._accept_paused_until:
            self._accept_paused_until = 0.0
            self._selector.register(self._listening, READ, _ACCEPT)
        if now >= self._next_sweep:
            self._sweep(now)

    def _guarded(self, step: Callable[[Any], None], data: object) -> None:
        """Run one connection's step; a bug in it costs that connection, never the loop."""
        try:
            step(data)
        except Exception:
            log.exception("http_connection_failed")
            if isinstance(data, Connection):
                self._fail(data)

    def _fail(self, conn: Connection) -> None:
        """Close a connection a bug broke; a request it was answering, nothing sent yet, gets its 500."""
        if conn.closed or conn.sending or conn.request is None or conn.in_worker:
            self._close(conn)
            return
        try:
            self._reply(conn, error_reply(BadHead(HTTPStatus.INTERNAL_SERVER_ERROR)))
        except Exception:  # noqa: BLE001 - already logged once: the connection goes, the loop stays
            self._close(conn)

    def _dispatch(self, data: object) -> None:
        if data is _WAKE:
            with contextlib.suppress(OSError):
                self._wake_in.recv(4096)
        elif isinstance(data, Connection):
            if data.handshaking:
                self._handshake(data)
            elif data.sending:
                self._flush(data)
            elif data.request is not None:
                return  # a request waits its turn: nothing more is read before it is answered
            elif data.receive():
                self._parse(data)
            else:
                self._close(data)

    def _accept(self, _listening: object) -> None:
        if (self._held is not None and not self._admit(self._held)) or self._accept_paused_until:
            return
        for _ in range(_ACCEPTS_PER_TURN):
            try:
                sock, address = self._listening.accept()
            except OSError as error:  # none pending (EAGAIN) included
                if error.errno in (errno.EMFILE, errno.ENFILE) and self._out_of_files():
                    continue  # a descriptor was freed: the pending connection is taken now
                return  # ECONNABORTED and the like: the next turn goes on
            if not self._admit(Connection(sock, str(address[0]), self._tls, turn=self._turns)):
                return

    def _admit(self, conn: Connection) -> bool:  # else it is held, the next ones in the backlog
        self._held = None if self.connections.admit(conn) else conn
        if self._held is None:
            self._open.add(conn)
            self._watch(conn, READ)
        elif not self._accept_paused_until:
            self._pause_accepting(time.monotonic() + _ACCEPT_PAUSE)
        return self._held is None

    def _out_of_files(self) -> bool:
        """Free a descriptor (True); with none to free, stop accepting for a moment (False)."""
        now = time.monotonic()
        if now - self._out_of_files_logged >= 60.0:  # noqa: PLR2004 - once a minute at most
            self._out_of_files_logged = now
            log.warning("http_out_of_file_descriptors", connection_limit=self.connections.limit)
        if self.connections.make_room(lambda conn: conn.accepted_in == self._turns):  # not this batch's
            return True
        self._pause_accepting(now + _ACCEPT_PAUSE)
        return False

    def _pause_accepting(self, until: float) -> None:
        # The pending connection stays queued, so select() would wake at once: a spin.
        self._selector.unregister(self._listening)
        self._accept_paused_until = until

    def _handshake(self, conn: Connection) -> None:
        wanted = conn.handshake()
        if wanted is None:
            self._close(conn)
        elif conn.sending:  # plain HTTP to the TLS port: its 400
            self._flush(conn)
        elif wanted:
            self._watch(conn, wanted)
        else:
            self._watch(conn, READ)
            if conn.receive():  # the request may have come with the handshake's last flight
                self._parse(conn)
            else:
                self._close(conn)

    def _parse(self, conn: Connection, *, next_turn: bool = False) -> None:
        if not conn.unparsed or conn.request is not None:
            return
        head = parse_head(conn.inbox, conn.taken)
        if head is None:
            return
        if not isinstance(head, BadHead):
            # Busy only now: clients trickling their headers stay evictable, or a few hold every slot.
            self.connections.busy(conn)
            conn.taken += head.size
        conn.request = head  # nothing more is read until it is answered
        (self._next if next_turn else self._ready).append(conn)

    def _answer(self, conn: Connection) -> None:
        head = conn.request
        if conn.closed or head is None:
            return
        if isinstance(head, BadHead):
            self._reply(conn, error_reply(head))
            return
        environ = request_environ(conn.environ(self._base), head)
        if isinstance(environ, BadHead):
            self._reply(conn, error_reply(environ))
            return
        work = None if self._worker_for is None else self._worker_for(environ)
        if work is None:
            self._reply(conn, serve(self._app, environ, head))
        elif self._workers.submit(work, conn, functools.partial(serve, self._app, environ, head)):
            conn.in_worker = True
            self._watch(conn, 0)  # nothing more is read until this request is answered
        else:
            # Kept alive: closed, the client connects again, a newcomer that evicts another connection.
            log.debug("http_request_refused", reason="credential checks queued", client=conn.remote_addr)
            unavailable = BadHead(HTTPStatus.SERVICE_UNAVAILABLE, method=head.method)
            self._reply(conn, error_reply(unavailable, close=closes_after(head)))

    def _reply(self, conn: Connection, reply: Reply) -> None:
        conn.queue(reply[0], reply[1], close=reply[2])
        self._flush(conn)

    def _flush(self, conn: Connection) -> None:
        wanted = conn.flush()
        if wanted is None or (not wanted and conn.close_after):
            self._close(conn)
        elif wanted:  # while a reply is being sent, any readiness event resumes the sending
            self._watch(conn, wanted)
        else:
            conn.rested()
            self.connections.rest(conn)  # idle until its next request is in
            self._watch(conn, READ)
            self._parse(conn, next_turn=True)  # a request sent before this answer was read

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + _TICK
        for conn in [conn for conn in self._open if not conn.in_worker and now > conn.deadline]:
            log.debug("http_connection_timed_out", client=conn.remote_addr)
            self._close(conn)

    def _watch(self, conn: Connection, events: int) -> None:
        if conn.watched == events:
            return
        if not events:
            self._selector.unregister(conn.fd)
        elif conn.watched:
            self._selector.modify(conn.fd, events, conn)
        else:
            self._selector.register(conn.fd, events, conn)
        conn.watched = events

    def _close(self, conn: Connection) -> None:
        if conn.closed:
            return
        self._workers.drop(conn)  # a request waiting for a thread is not run for a closed connection
        self.connections.done(conn)
        self._open.discard(conn)
        self._watch(conn, 0)
        conn.close()

    def _close_all(self) -> None:
        for conn in [*self._open, *filter(None, [self._held])]:
            self._close(conn)
        self._workers.shutdown()
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full or closed: a wake-up is pending or not needed
            self._wake_out.send(b"\0")
