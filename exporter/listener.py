"""The listening side of the web server: binding, threads, TLS and the connection limit.

``MetricsServer`` binds ``web.listen_address`` (``:port`` means every interface, IPv6 and
IPv4) and serves any WSGI app on a thread per connection, kept alive between requests
(``httpserver``). With a certificate it speaks TLS 1.2 or newer; the handshake runs in the
connection's own thread so a slow client cannot stall accepting others, and a plain HTTP
request gets a plain-text 400 saying so.
What is served lives in ``server``.
"""

from __future__ import annotations

import errno
import socket
import ssl
import sys
import threading
import time
from pathlib import Path
from socketserver import TCPServer, ThreadingMixIn
from typing import TYPE_CHECKING, Final
from wsgiref.simple_server import WSGIServer

from exporter import logs, tls
from exporter.connections import Connections, connection_limit
from exporter.httpserver import CONNECTION_TIMEOUT, KeepAliveHandler

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from exporter.config import WebSettings

log = logs.get_logger(component="server")

_ACCEPT_PAUSE: Final = 0.1  # seconds to wait after accept() ran out of file descriptors
_TLS_HANDSHAKE: Final = 0x16  # first byte of every TLS record that opens a handshake
_PLAIN_TO_TLS: Final = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    b"Client sent an HTTP request to an HTTPS server.\n"
)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck client must not keep the process alive at shutdown
    # socketserver's default backlog of 5 overflows under 20 concurrent scrapers, and every
    # overflow costs the client a one-second SYN retransmit (the benchmark's 1.1 s p99).
    request_queue_size = 128
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None
    connections = Connections(64)  # replaced per server by MetricsServer
    _out_of_files_logged = 0.0

    def get_request(self) -> tuple[socket.socket, object]:
        try:
            return super().get_request()
        except OSError as error:
            if error.errno in (errno.EMFILE, errno.ENFILE):
                # Without a free descriptor the pending connection stays queued and select()
                # wakes at once: free one and pause, or the serving thread spins.
                self.connections.evict_oldest()
                self._note_out_of_files()
                threading.Event().wait(_ACCEPT_PAUSE)
            raise

    def _note_out_of_files(self) -> None:
        now = time.monotonic()
        if now - self._out_of_files_logged >= 60.0:  # noqa: PLR2004 - once a minute at most
            self._out_of_files_logged = now
            log.warning("http_out_of_file_descriptors", connection_limit=self.connections.limit)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        if not self.connections.admit(request):
            log.debug("http_connection_refused", reason="every slot busy", limit=self.connections.limit)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        self.connections.done(request)
        super().shutdown_request(request)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup of the bind address (getfqdn),
        # which can take seconds on hosts with slow resolvers; we do not need the name.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        # Runs in the connection's own thread, so the TLS handshake never blocks accept().
        request.settimeout(CONNECTION_TIMEOUT)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        wrapped = _tls_handshake(self.tls, request)
        if wrapped is None:
            return
        self.connections.wrapped(request, wrapped)
        try:
            super().finish_request(wrapped, client_address)
        finally:  # the caller closes the plain socket, which wrapping detached: close ours
            self.shutdown_request(wrapped)

    def handle_error(self, _request: object, client_address: object) -> None:
        # Mostly clients that hang up mid-response; not worth a traceback on stderr.
        log.debug("http_connection_failed", client=str(client_address), error=repr(sys.exc_info()[1]))


class _DualStackServer(_ThreadingWSGIServer):
    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        # ":9862" means every interface, IPv4 included, as Go exporters do.
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class _IPv6Server(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


def _tls_handshake(context: ssl.SSLContext, request: socket.socket) -> ssl.SSLSocket | None:
    try:
        first = request.recv(1, socket.MSG_PEEK)
        if first and first[0] != _TLS_HANDSHAKE:  # plain HTTP: say so, as Go servers do
            request.sendall(_PLAIN_TO_TLS)
            return None
        return context.wrap_socket(request, server_side=True)
    except (ssl.SSLError, OSError) as error:
        log.debug("tls_handshake_failed", error=str(error))
        return None


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """Server-side TLS: TLS 1.2 or newer, Python's secure cipher defaults; never a pass-phrase prompt."""
    return tls.server_context(Path(cert_file), Path(key_file))


class MetricsServer:
    """Binds ``web.listen_address`` and serves the app until ``shutdown()``."""

    def __init__(self, web: WebSettings, app: WSGIApplication) -> None:
        host, port = web.host_port()
        self._server = _bind(host, port)
        self._server.set_app(app)
        self._server.connections = Connections(connection_limit(web.max_connections))
        self._server.tls = web.tls_context()  # from the flags or --web.config.file
        self.scheme = "https" if self._server.tls is not None else "http"
        self._serving = False

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Where to reach the server, e.g. http://[::]:9862."""
        host, port = self.address
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    def serve_forever(self) -> None:
        """Serve on this thread until ``shutdown()`` is called from another one."""
        self._serving = True
        self._server.serve_forever(poll_interval=0.2)

    def start(self) -> threading.Thread:
        """Serve on a new daemon thread; return it."""
        self._serving = True  # before the thread runs, so an early shutdown() still stops it
        thread = threading.Thread(target=self._server.serve_forever, args=(0.2,), name="http", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop serving and close the listening socket; in-flight requests finish on their own."""
        if self._serving:  # socketserver's shutdown() would wait forever for a loop never started
            self._server.shutdown()
            self._serving = False
        self._server.server_close()


def _bind(host: str, port: int) -> _ThreadingWSGIServer:
    if host == "":
        try:
            return _DualStackServer(("::", port), KeepAliveHandler)
        except OSError:  # no IPv6 on this host: every IPv4 interface will do
            return _ThreadingWSGIServer(("0.0.0.0", port), KeepAliveHandler)  # noqa: S104 - asked for all
    if ":" in host:
        return _IPv6Server((host, port), KeepAliveHandler)
    return _ThreadingWSGIServer((host, port), KeepAliveHandler)
