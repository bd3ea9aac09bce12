"""One client connection of the serving loop: its socket, TLS set-up, bytes in, bytes out, deadline.

Every method returns at once (the socket is non-blocking); the loop (``httploop``) decides
what to wait for from what they return. With TLS the connection first peeks at the first
byte: a plain HTTP request gets a plain-text 400 saying so, as Go servers do; otherwise
the handshake advances a step per readiness event, so a slow or silent client never
stalls the loop. Bytes that OpenSSL has already decrypted are drained at once: select()
cannot see them.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import time
from typing import TYPE_CHECKING, Final

from exporter import logs
from exporter.httpserver import CONNECTION_TIMEOUT, connection_environ

if TYPE_CHECKING:
    from collections.abc import Mapping

    from exporter.httpwire import BadHead, RequestHead

log = logs.get_logger(component="server")

READ: Final = selectors.EVENT_READ
WRITE: Final = selectors.EVENT_WRITE
_CHUNK: Final = 65536  # bytes read per readiness event
_TLS_RECORD: Final = 16384  # bytes per TLS write: one record, retried whole when the socket is full
_IOVECS: Final = 64  # buffers per sendmsg
_TLS_HANDSHAKE: Final = 0x16  # first byte of every TLS record that opens a handshake
PLAIN_TO_TLS: Final = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    b"Client sent an HTTP request to an HTTPS server.\n"
)
_NOT_YET = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Connection:
    """A client's socket and what is in flight on it; used from the loop's thread only."""

    def __init__(
        self, sock: socket.socket, remote_addr: str, tls: ssl.SSLContext | None, *, turn: int
    ) -> None:
        sock.setblocking(False)  # noqa: FBT003 - the stdlib's signature
        with contextlib.suppress(OSError):  # head and body are separate buffers: no delayed-ACK stall
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.fd = sock.fileno()  # unchanged when the socket is wrapped for TLS
        self.remote_addr = remote_addr
        self._tls = tls
        self.handshaking = tls is not None
        self.inbox = bytearray()
        self.taken = 0  # bytes at the start of inbox already parsed as requests: trimmed at the next read
        self._outbox: list[memoryview] = []
        self.close_after = False
        self.request: RequestHead | BadHead | None = None  # being answered
        self.in_worker = False  # the app runs for it on a worker thread: no deadline meanwhile
        self.watched = 0  # the selector events registered for it
        self.accepted_in = turn  # the loop's turn that accepted it
        self.accepted_at = time.monotonic()
        self.fresh = True  # no request answered yet
        self.closed = False
        self.deadline = time.monotonic() + CONNECTION_TIMEOUT
        self._environ: dict[str, object] | None = None

    def environ(self, base: Mapping[str, object]) -> dict[str, object]:
        """Return the WSGI environ keys every request of this connection shares."""
        if self._environ is None:
            scheme = "https" if isinstance(self.sock, ssl.SSLSocket) else "http"
            self._environ = connection_environ(base, self.remote_addr, scheme)
        return self._environ

    def handshake(self) -> int | None:
        """Advance the TLS set-up; return the event to wait for, 0 once done, None to close."""
        try:
            if not isinstance(self.sock, ssl.SSLSocket):
                first = self.sock.recv(1, socket.MSG_PEEK)
                if not first:
                    return None
                if first[0] != _TLS_HANDSHAKE:
                    self.handshaking = False
                    self.queue(PLAIN_TO_TLS, b"", close=True)
                    return WRITE
                assert self._tls is not None  # noqa: S101 - handshaking only with a context
                self.sock = self._tls.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
            self.sock.do_handshake()
        except ssl.SSLWantWriteError:
            return WRITE
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            return READ
        except (ssl.SSLError, OSError) as error:
            log.debug("tls_handshake_failed", error=str(error))
            return None
        self.handshaking = False
        self.deadline = time.monotonic() + CONNECTION_TIMEOUT
        return 0

    @property
    def unparsed(self) -> bool:
        """Whether bytes past the requests already taken have arrived."""
        return len(self.inbox) > self.taken

    def receive(self) -> bool:
        """Take in what has arrived; False once the client has closed or failed."""
        started = self.unparsed
        if self.taken:  # once per read, not per request: a pipelined buffer is not shifted per request
            del self.inbox[: self.taken]
            self.taken = 0
        try:
            data = self.sock.recv(_CHUNK)
            if not data:
                return False
            self.inbox += data
            if isinstance(self.sock, ssl.SSLSocket):
                while pending := self.sock.pending():
                    self.inbox += self.sock.recv(pending)
        except _NOT_YET:
            return True
        except OSError:  # ssl.SSLError included
            return False
        if not started:  # the request's first byte: it has one timeout from now to arrive whole
            self.deadline = time.monotonic() + CONNECTION_TIMEOUT
        return True

    def queue(self, head: bytes, body: bytes, *, close: bool) -> None:
        """Hold a reply to send (nothing else is queued: one request at a time)."""
        self._outbox = [memoryview(part) for part in (head, body) if part]
        self.close_after = close
        self.deadline = time.monotonic() + CONNECTION_TIMEOUT

    @property
    def sending(self) -> bool:
        """Whether part of a reply is still to be sent."""
        return bool(self._outbox)

    def flush(self) -> int | None:
        """Send what the socket takes; 0 when all is sent, else the event to wait for; None on failure."""
        try:
            while self._outbox:
                if isinstance(self.sock, ssl.SSLSocket):  # SSLSocket has no sendmsg
                    sent = self.sock.send(self._outbox[0][:_TLS_RECORD])
                else:
                    sent = self.sock.sendmsg(self._outbox[:_IOVECS])
                self._advance(sent)
                self.deadline = time.monotonic() + CONNECTION_TIMEOUT
        except ssl.SSLWantReadError:  # OpenSSL must read a record first (a key update): wait to read
            return READ
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
            return WRITE
        except OSError:  # the client hung up mid-response
            return None
        return 0

    def _advance(self, sent: int) -> None:
        while sent and self._outbox:
            first = self._outbox[0]
            if sent < len(first):
                self._outbox[0] = first[sent:]
                return
            sent -= len(first)
            self._outbox.pop(0)

    def rested(self) -> None:
        """Wait for the next request, the reply being sent: idle for at most one timeout."""
        self.request = None
        self.fresh = False
        self.deadline = time.monotonic() + CONNECTION_TIMEOUT

    def close(self) -> None:
        """Close the socket; what was sent goes out before the FIN."""
        self.closed = True
        with contextlib.suppress(OSError):  # already gone
            socket.socket.shutdown(self.sock, socket.SHUT_WR)  # the plain socket's: no TLS close_notify wait
        with contextlib.suppress(OSError):
            self.sock.close()
