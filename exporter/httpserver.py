"""A lean HTTP/1.1 request handler that serves a WSGI app over kept-alive connections.

wsgiref's handler answers one request per connection in HTTP/1.0 and goes through a
general WSGI gateway (a copy of ``os.environ`` per request, a write per header): every
scrape then paid a TCP handshake, a new thread and about a millisecond of CPU besides the
response. This one keeps the connection (and its thread) for the next request, unless the
client asks to close or sent a body, writes the status line and headers in one send and
the body in another, and hands the connection back to the idle pool between requests so
that ``--web.max-connections`` can still evict it. Binding, TLS and the limit are
``listener``'s.
"""

from __future__ import annotations

import ssl
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Final
from wsgiref.simple_server import WSGIRequestHandler

from exporter import PRODUCT, __version__, logs

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType
    from wsgiref.types import WSGIEnvironment

    from exporter.connections import Connections

    _ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

log = logs.get_logger(component="server")

CONNECTION_TIMEOUT: Final = 10.0  # seconds a client may stall one read or write, or idle between requests
_MAX_REQUEST_LINE: Final = 65536


class KeepAliveHandler(WSGIRequestHandler):
    """Serves the server's WSGI app, request after request, on one connection."""

    protocol_version = "HTTP/1.1"
    server_version = f"{PRODUCT}/{__version__}"
    sys_version = ""  # do not advertise the Python version in the Server header
    timeout = CONNECTION_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are separate writes: no delayed-ACK stall

    def handle(self) -> None:
        """Serve requests until the client closes, asks to close, or idles past the timeout."""
        BaseHTTPRequestHandler.handle(self)  # the keep-alive loop wsgiref's handle() replaced

    def handle_one_request(self) -> None:
        """Read one request and answer it through the app (any method: the app says 405)."""
        try:
            self.raw_requestline = self.rfile.readline(_MAX_REQUEST_LINE + 1)
            if len(self.raw_requestline) > _MAX_REQUEST_LINE:
                self.requestline = self.request_version = self.command = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                self.close_connection = True
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # it has answered 400 or 505
                return
            self._serve()
            self._connections().rest(self.connection)  # idle until its next request line
        except TimeoutError:
            self.close_connection = True

    def parse_request(self) -> bool:
        """Mark the connection busy once its request line is in: from then on it is never evicted."""
        self._connections().busy(self.connection)
        return super().parse_request()

    def _serve(self) -> None:
        if self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # a body we do not read would be taken for the next request
        environ = self._environ()
        response = _Response()
        try:
            chunks = self.server.get_app()(environ, response.start)  # type: ignore[attr-defined]
            body = b"".join(chunks)
        except Exception:  # a bug in the app costs this connection, never the server
            log.exception("http_request_failed", method=self.command, path=self.path)
            self.close_connection = True
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
            return
        code, _, reason = response.status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in response.headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in response.headers):
            # Without it a kept-alive client could only find the body's end when we close.
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _environ(self) -> WSGIEnvironment:
        environ = self.get_environ()
        environ["wsgi.input"] = self.rfile
        environ["wsgi.errors"] = sys.stderr
        environ["wsgi.version"] = (1, 0)
        environ["wsgi.url_scheme"] = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        environ["wsgi.multithread"] = True
        environ["wsgi.multiprocess"] = False
        environ["wsgi.run_once"] = False
        return environ

    def _connections(self) -> Connections:
        connections: Connections = self.server.connections  # type: ignore[attr-defined]
        return connections

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Record one request at debug level."""
        log.debug("http_request_served", method=self.command, path=self.path, code=code, size=size)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        """Route the base class's messages (errors) through structlog."""
        log.debug("http_server_message", message=format % args)


class _Response:
    """What the app passed to ``start_response``."""

    status = "500 Internal Server Error"
    headers: Iterable[tuple[str, str]] = ()

    def start(self, status: str, headers: list[tuple[str, str]], _exc_info: _ExcInfo | None = None) -> object:
        self.status, self.headers = status, headers
        return self._no_write

    @staticmethod
    def _no_write(_data: bytes) -> None:
        msg = "write() is not supported: return the body"
        raise NotImplementedError(msg)
