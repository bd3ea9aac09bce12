"""One HTTP/1.1 exchange: a request head that has arrived whole in, the response's bytes out.

The serving loop (``httploop``) reads the bytes and writes the answer; this module turns a
parsed request head (``httpwire``) into the WSGI call and the reply: the status line and
headers in one buffer, the body in another, and whether the connection ends after it (the
client asked, sent a body we do not read, or the request could not be read). Error replies
are byte for byte those of the standard library's ``BaseHTTPRequestHandler``.
"""

from __future__ import annotations

import email.utils
import html
import io
import sys
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

import structlog

from exporter import PRODUCT, __version__, logs
from exporter.httpwire import BadHead, RequestHead, response_head

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from types import TracebackType
    from wsgiref.types import WSGIApplication, WSGIEnvironment

    from structlog.typing import FilteringBoundLogger

    _ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]

log = logs.get_logger(component="server")

CONNECTION_TIMEOUT: Final = 10.0  # seconds a client may idle between requests, or take to send one
PROTOCOL: Final = "HTTP/1.1"
SERVER: Final = f"{PRODUCT}/{__version__}"
_NO_INPUT: Final = io.BytesIO(b"")  # a request body is never read: the connection closes after it

Reply = tuple[bytes, bytes, bool]  # head, body, whether the connection closes after them


def connection_environ(base: Mapping[str, object], remote_addr: str, scheme: str) -> dict[str, object]:
    """Return what every request of one connection shares: built once, copied per request."""
    return {
        **base,
        "SERVER_SOFTWARE": SERVER,
        "REMOTE_ADDR": remote_addr,
        "wsgi.input": _NO_INPUT,
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.multithread": True,  # requests the app says are slow run on worker threads
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def request_environ(shared: Mapping[str, object], head: RequestHead) -> WSGIEnvironment | BadHead:
    """Return the WSGI environ of one request; a 400 for a target that does not parse."""
    path, _, query = head.target.partition("?")
    if not path.startswith("/") and "://" in path:
        # Absolute-form (RFC 9112 3.2.2: a server MUST accept it): route on its path.
        try:
            target = urlsplit(head.target)
        except ValueError:  # e.g. http://[::1/metrics: the client's error, not ours
            return BadHead(HTTPStatus.BAD_REQUEST, "Bad request target", method=head.method)
        path, query = target.path or "/", target.query
    environ: WSGIEnvironment = {
        **shared,
        **head.fields,
        "SERVER_PROTOCOL": head.version,
        "REQUEST_METHOD": head.method,
        "PATH_INFO": unquote(path, "iso-8859-1"),
        "QUERY_STRING": query,
    }
    return environ


def closes_after(head: RequestHead) -> bool:
    """Tell whether the connection ends after this request's answer."""
    fields = head.fields
    if fields.get("CONTENT_LENGTH", "0") != "0" or "HTTP_TRANSFER_ENCODING" in fields:
        return True  # a body we do not read would be taken for the next request
    connection = fields.get("HTTP_CONNECTION", "").lower()
    return "close" in connection if head.version == PROTOCOL else "keep-alive" not in connection


def serve(app: WSGIApplication, environ: WSGIEnvironment, head: RequestHead) -> Reply:
    """Call the app for one request; a failure in it answers 500 and costs only this connection."""
    close = closes_after(head)
    response = _Response()
    try:
        body = b"".join(app(environ, response.start))  # type: ignore[arg-type]  # keyword-free call
        # Inside the try: a status or header the app gave that HTTP cannot carry (not
        # Latin-1) is the app's bug too, and the client is owed an answer.
        reply_head = response_head(
            (PROTOCOL, SERVER, response.status, tuple(response.headers)), len(body), close=close
        )
    except Exception:  # a bug in the app costs this connection, never the server
        log.exception("http_request_failed", method=head.method, path=head.target)
        return error_reply(BadHead(HTTPStatus.INTERNAL_SERVER_ERROR, method=head.method))
    _request_log().debug(
        "http_request_served",
        method=head.method,
        path=head.target,
        code=response.status.partition(" ")[0],
        size=len(body),
    )
    return reply_head, body, close


def error_reply(bad: BadHead, *, close: bool = True) -> Reply:
    """Answer a request that cannot be served, as ``BaseHTTPRequestHandler.send_error`` does.

    Unlike it, a request read whole may keep its connection (``close`` False).
    """
    short, explain = BaseHTTPRequestHandler.responses.get(bad.status, ("???", "???"))
    message = short if bad.message is None else bad.message
    log.debug("http_server_message", message=f"code {int(bad.status)}, message {message}")
    _request_log().debug("http_request_served", method=bad.method, path="", code=int(bad.status), size="-")
    content = BaseHTTPRequestHandler.error_message_format % {
        "code": bad.status,
        "message": html.escape(message, quote=False),
        "explain": html.escape(explain, quote=False),
    }
    body = content.encode("UTF-8", "replace")
    head = (
        f"{PROTOCOL} {int(bad.status)} {message}\r\n"
        f"Server: {SERVER} \r\n"  # the handler's version string: server and (empty) Python version
        f"Date: {email.utils.formatdate(time.time(), usegmt=True)}\r\n"
        f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n"
        f"Content-Type: {BaseHTTPRequestHandler.error_content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1", "strict")
    return head, b"" if bad.method == "HEAD" else body, close


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
