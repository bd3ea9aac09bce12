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

import functools
import ssl
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

import structlog

from exporter import PRODUCT, __version__, logs
from exporter.httpwire import MAX_LINE, read_fields, response_head

if TYPE_CHECKING:
    import socket
    from collections.abc import Iterable
    from types import TracebackType
    from wsgiref.types import WSGIEnvironment

    from structlog.typing import FilteringBoundLogger

    from exporter.connections import Connections

    _ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

log = logs.get_logger(component="server")

CONNECTION_TIMEOUT: Final = 10.0  # seconds a client may stall one read or write, or idle between requests
_VERSIONS: Final = frozenset({"HTTP/1.0", "HTTP/1.1"})


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Serves the server's WSGI app, request after request, on one connection."""

    protocol_version = "HTTP/1.1"
    server_version = f"{PRODUCT}/{__version__}"
    sys_version = ""  # do not advertise the Python version in the Server header
    timeout = CONNECTION_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are separate writes: no delayed-ACK stall

    def handle_one_request(self) -> None:
        """Read one request and answer it through the app (any method: the app says 405)."""
        try:
            self.raw_requestline = self.rfile.readline(MAX_LINE + 1)
            if len(self.raw_requestline) > MAX_LINE:
                self.requestline = self.request_version = self.command = self.path = ""
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                self.close_connection = True
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():  # it has answered 400, 431 or 505, or the client left
                return
            # Busy only now: a client trickling its headers stays evictable, or a few of them
            # would hold every slot of --web.max-connections.
            self._connections().busy(self.connection)
            self._serve()
            self._connections().rest(self.connection)  # idle until its next request is in
        except TimeoutError:
            self.close_connection = True

    def parse_request(self) -> bool:
        """Read the request line's words and the headers; answer 400, 431 or 505 if they are bad.

        The whole header block must arrive within ``timeout`` seconds of the request line.
        Headers go straight into the WSGI environ: the stdlib's email parser cost more
        than the rest of a scrape.
        """
        self.command, self.path, self.request_version, self.close_connection = "", "", "HTTP/1.0", True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):  # noqa: PLR2004 - method, target, version
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request line")
            return False
        self.command, self.path, version = words
        if version not in _VERSIONS:
            self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED)
            return False
        self.request_version = version
        deadline = _Deadline(self.connection, self.timeout)
        try:
            fields = read_fields(self.rfile, deadline)  # type: ignore[arg-type]  # a BufferedReader
        finally:
            deadline.restore()
        if fields is None:
            self.close_connection = True
            return False
        if isinstance(fields, HTTPStatus):
            self.send_error(fields)
            return False
        self._fields = fields
        connection = fields.get("HTTP_CONNECTION", "").lower()
        self.close_connection = (
            "close" in connection if version == "HTTP/1.1" else "keep-alive" not in connection
        )
        return True

    def _serve(self) -> None:
        if self._fields.get("CONTENT_LENGTH", "0") != "0" or "HTTP_TRANSFER_ENCODING" in self._fields:
            self.close_connection = True  # a body we do not read would be taken for the next request
        response = _Response()
        try:
            chunks = self.server.get_app()(self._environ(), response.start)  # type: ignore[attr-defined]
            body = b"".join(chunks)
            # Inside the try: a status or header the app gave that HTTP cannot carry (not
            # Latin-1) is the app's bug too, and the client is owed an answer.
            head = response_head(
                (self.protocol_version, self.server_version, response.status, tuple(response.headers)),
                len(body),
                close=self.close_connection,
            )
        except Exception:  # a bug in the app costs this connection, never the server
            log.exception("http_request_failed", method=self.command, path=self.path)
            self.close_connection = True
            self.send_error(HTTPStatus.INTERNAL_SERVER_ERROR)
            return
        self._send(head, body)
        self.log_request(response.status.partition(" ")[0], len(body))

    def _send(self, head: bytes, body: bytes) -> None:
        """Send the head and the body, in one system call when the socket allows it."""
        if not body or isinstance(self.connection, ssl.SSLSocket):  # SSLSocket has no sendmsg
            self.wfile.write(head + body)
            return
        sent = self.connection.sendmsg((head, body))
        if sent < len(head):
            self.connection.sendall(head[sent:])
            sent = len(head)
        if sent < len(head) + len(body):
            self.connection.sendall(memoryview(body)[sent - len(head) :])

    def _environ(self) -> WSGIEnvironment:
        path, _, query = self.path.partition("?")
        if not path.startswith("/") and "://" in path:
            # Absolute-form (RFC 9112 3.2.2: a server MUST accept it): route on its path.
            target = urlsplit(self.path)
            path, query = target.path or "/", target.query
        environ: WSGIEnvironment = {
            **self._connection_environ,
            **self._fields,
            "SERVER_PROTOCOL": self.request_version,
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path, "iso-8859-1"),
            "QUERY_STRING": query,
        }
        return environ

    @functools.cached_property
    def _connection_environ(self) -> dict[str, object]:
        """What every request of this connection shares: built once, copied per request."""
        return {
            **self.server.base_environ,  # type: ignore[attr-defined]
            "SERVER_SOFTWARE": self.server_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.input": self.rfile,
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if isinstance(self.connection, ssl.SSLSocket) else "http",
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }

    def _connections(self) -> Connections:
        connections: Connections = self.server.connections  # type: ignore[attr-defined]
        return connections

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Record one request at debug level."""
        _request_log().debug("http_request_served", method=self.command, path=self.path, code=code, size=size)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        """Route the base class's messages (errors) through structlog."""
        log.debug("http_server_message", message=format % args)


class _Deadline:
    """Shrinks a socket's timeout before each read so that all the reads end by one moment."""

    def __init__(self, sock: socket.socket, seconds: float | None) -> None:
        self._sock, self._seconds = sock, seconds
        self._end = time.monotonic() + (seconds or CONNECTION_TIMEOUT)
        self._shrunk = False

    def __call__(self) -> None:
        left = self._end - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self._sock.settimeout(left)
        self._shrunk = True

    def restore(self) -> None:
        """Give the socket its own timeout back (for the response and the next request)."""
        if self._shrunk:
            self._sock.settimeout(self._seconds)


class _AssembledLog:
    """The server's logger, assembled once per logging configuration.

    structlog's lazy logger assembles a bound logger (and a writer) on every call, which cost
    more per scrape than reading the request; ``logs.configure`` may run again, so a new
    configuration gets a new assembly.
    """

    def __init__(self) -> None:
        self._latest: tuple[dict[str, object], FilteringBoundLogger] | None = None

    def __call__(self) -> FilteringBoundLogger:
        config = structlog.get_config()  # a new configure() brings new factory and processor objects
        latest = self._latest
        if latest is None or latest[0] != config:
            latest = (config, log.bind())
            self._latest = latest
        return latest[1]


_request_log = _AssembledLog()


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
