"""The HTTP side: /metrics, the landing page and the probes, on a threaded WSGI server.

Routes: ``/metrics`` (cached exposition, content negotiation, gzip), ``/`` (landing page),
``/healthz`` (200 while the poll loop runs, else 503), ``/readyz`` (503 until the first
snapshot is published). Anything else is 404; methods other than GET and HEAD get 405.

Optional TLS (TLS 1.2 or newer; the handshake runs in the connection's own thread so a
slow client cannot stall accepting others) and HTTP basic auth. Basic auth guards every
path except ``/healthz`` and ``/readyz``: kubelet and Docker probes cannot send
credentials, and the probes reveal only "alive"/"ready". Scrapes read the snapshot store
and never touch the Acronis API, so they answer even while the API is down.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
import socket
import ssl
import sys
import threading
from socketserver import TCPServer, ThreadingMixIn
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from exporter import __version__, logs
from exporter.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from pydantic import SecretStr

    from exporter.config import WebSettings
    from exporter.exposition import Exposition
    from exporter.snapshot import SnapshotStore

log = logs.get_logger(component="server")

NAME: Final = "acronis-task-exporter"
OPEN_PATHS: Final = frozenset({"/healthz", "/readyz"})  # probes: never behind basic auth
_CONNECTION_TIMEOUT: Final = 60.0  # seconds a client may idle mid-request before we drop it
_TLS_HANDSHAKE: Final = 0x16  # first byte of every TLS record that opens a handshake
_PLAIN_TO_TLS: Final = (
    b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
    b"Client sent an HTTP request to an HTTPS server.\n"
)
Headers = list[tuple[str, str]]


class BasicAuth:
    """Checks ``Authorization: Basic`` against one user; the password may live in a file.

    The password is resolved on every check so that a rotated secret file takes effect
    without a restart; if the file becomes unreadable the last good password stays.
    """

    def __init__(self, username: str, password: Callable[[], SecretStr | None]) -> None:
        self._username = username.encode()
        self._resolve = password
        self._last_good = self._password()

    def allows(self, header: str | None) -> bool:
        """Tell whether the header carries the right user and password (constant time)."""
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        # Compare both, always: short-circuiting would tell a prober which one was wrong.
        user_ok = hmac.compare_digest(user, self._username)
        password_ok = hmac.compare_digest(password, self._password())
        return user_ok & password_ok

    def _password(self) -> bytes:
        try:
            secret = self._resolve()
        except ConfigError as error:
            log.warning("basic_auth_password_unreadable", error=str(error))
            return self._last_good
        self._last_good = secret.get_secret_value().encode() if secret is not None else b""
        return self._last_good


class ExporterApp:
    """The WSGI application: routing, auth, and the four pages."""

    def __init__(
        self,
        exposition: Exposition,
        store: SnapshotStore,
        healthy: Callable[[], bool],
        *,
        api_url: str = "",
        basic_auth: BasicAuth | None = None,
    ) -> None:
        self._exposition = exposition
        self._store = store
        self._healthy = healthy
        self._auth = basic_auth
        self._landing = landing_page(urlsplit(api_url).hostname or "")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request."""
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/") or "/"
        try:
            status, headers, body = self._respond(method, path, environ)
        except Exception:  # the one broad catch of the web side: a bug answers 500, the server lives
            log.exception("http_request_failed", method=method, path=path)
            status, headers, body = _text(
                "500 Internal Server Error", "internal error, see the exporter log\n"
            )
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]

    def _respond(self, method: str, path: str, environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        if path not in OPEN_PATHS and self._auth and not self._auth.allows(environ.get("HTTP_AUTHORIZATION")):
            status, headers, body = _text("401 Unauthorized", "unauthorized\n")
            headers.append(("WWW-Authenticate", f'Basic realm="{NAME}", charset="UTF-8"'))
            return status, headers, body
        route = {
            "/metrics": self._metrics,
            "/": self._root,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }.get(path)
        if route is None:
            return _text("404 Not Found", "not found; see / for the pages this exporter serves\n")
        if method not in {"GET", "HEAD"}:
            status, headers, body = _text("405 Method Not Allowed", "method not allowed\n")
            headers.append(("Allow", "GET, HEAD"))
            return status, headers, body
        return route(environ)

    def _metrics(self, environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        payload = self._exposition.render(environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING"))
        headers = [("Content-Type", payload.content_type), ("Vary", "Accept, Accept-Encoding")]
        if payload.content_encoding:
            headers.append(("Content-Encoding", payload.content_encoding))
        return "200 OK", headers, payload.body

    def _root(self, _environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        return "200 OK", [("Content-Type", "text/html; charset=utf-8")], self._landing

    def _healthz(self, _environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        if self._healthy():
            return _text("200 OK", "ok\n")
        return _text("503 Service Unavailable", "poll loop is not running\n")

    def _readyz(self, _environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        if self._store.first_published.is_set():
            return _text("200 OK", "ready\n")
        return _text("503 Service Unavailable", "waiting for the first poll\n")


def _text(status: str, body: str) -> tuple[str, Headers, bytes]:
    return (
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
        body.encode(),
    )


def landing_page(api_host: str) -> bytes:
    """Render the page at / (only the data centre's host name: never a path, user or secret)."""
    source = f"<p>Data centre: <code>{html.escape(api_host)}</code></p>" if api_host else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{NAME}</title></head>
<body>
<h1>{NAME} {html.escape(__version__)}</h1>
<p>Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2.</p>
{source}
<ul>
<li><a href="/metrics">/metrics</a>: the metrics</li>
<li><a href="/healthz">/healthz</a>: 200 while the poll loop runs</li>
<li><a href="/readyz">/readyz</a>: 200 once the first poll is published</li>
</ul>
</body>
</html>
""".encode()


class _QuietHandler(WSGIRequestHandler):
    """Logs requests through structlog at debug instead of printing to stderr."""

    server_version = f"{NAME}/{__version__}"
    sys_version = ""  # do not advertise the Python version in the Server header
    timeout = _CONNECTION_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are separate writes: no delayed-ACK stall

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Record one request at debug level."""
        log.debug("http_request_served", method=self.command, path=self.path, code=code, size=size)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        """Route the base class's messages (errors) through structlog."""
        log.debug("http_server_message", message=format % args)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck client must not keep the process alive at shutdown
    # socketserver's default backlog of 5 overflows under 20 concurrent scrapers, and every
    # overflow costs the client a one-second SYN retransmit (the benchmark's 1.1 s p99).
    request_queue_size = 128
    allow_reuse_address = True
    tls: ssl.SSLContext | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup of the bind address (getfqdn),
        # which can take seconds on hosts with slow resolvers; we do not need the name.
        TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)
        self.setup_environ()

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        # Runs in the connection's own thread, so the TLS handshake never blocks accept().
        request.settimeout(_CONNECTION_TIMEOUT)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        wrapped = _tls_handshake(self.tls, request)
        if wrapped is None:
            return
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
    """Server-side TLS: TLS 1.2 or newer, Python's secure cipher defaults."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class MetricsServer:
    """Binds ``web.listen_address`` and serves the app until ``shutdown()``."""

    def __init__(self, web: WebSettings, app: WSGIApplication) -> None:
        host, port = web.host_port()
        self._server = _bind(host, port)
        self._server.set_app(app)
        if web.tls_cert_file is not None and web.tls_key_file is not None:
            self._server.tls = tls_context(str(web.tls_cert_file), str(web.tls_key_file))
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
            return _DualStackServer(("::", port), _QuietHandler)
        except OSError:  # no IPv6 on this host: every IPv4 interface will do
            return _ThreadingWSGIServer(("0.0.0.0", port), _QuietHandler)  # noqa: S104 - asked for all
    if ":" in host:
        return _IPv6Server((host, port), _QuietHandler)
    return _ThreadingWSGIServer((host, port), _QuietHandler)
