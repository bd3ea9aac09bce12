"""The HTTP side: /metrics, the landing page and the probes, as a WSGI application.

Routes: ``/metrics`` (cached exposition, content negotiation, gzip), ``/`` (landing page),
``/healthz`` (200 while the poll loop runs, else 503), ``/readyz`` (503 until the first
snapshot is published). Anything else is 404; methods other than GET and HEAD get 405.

Optional HTTP basic auth guards every path except ``/healthz`` and ``/readyz``: kubelet
and Docker probes cannot send credentials, and the probes reveal only "alive"/"ready".
Scrapes read the snapshot store and never touch the Acronis API, so they answer even
while the API is down. Binding, threads and TLS live in ``listener``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import html
from typing import TYPE_CHECKING, Final, Protocol
from urllib.parse import urlsplit

from exporter import PRODUCT, __version__, logs
from exporter.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment

    from pydantic import SecretStr

    from exporter.exposition import Exposition
    from exporter.httpworkers import Work
    from exporter.snapshot import SnapshotStore

log = logs.get_logger(component="server")

OPEN_PATHS: Final = frozenset({"/healthz", "/readyz"})  # probes: never behind basic auth
_PAYLOAD: Final = "exporter.metrics_payload"  # environ key: a scrape's payload found rendered by worker_for
Headers = list[tuple[str, str]]


class Authenticator(Protocol):
    """Tells whether an ``Authorization`` header may see the guarded pages."""

    def allows(self, header: str | None) -> bool:
        """Return True when the header carries acceptable credentials."""
        ...

    def decides_at_once(self, header: str | None) -> bool:
        """Return True when ``allows`` answers without a slow (bcrypt) check for this header."""
        ...


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

    def decides_at_once(self, _header: str | None) -> bool:
        """Return True: the check is two constant-time comparisons."""
        return True

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

    def __init__(  # noqa: PLR0913 - the store and probes, then keyword-only options
        self,
        exposition: Exposition,
        store: SnapshotStore,
        healthy: Callable[[], bool],
        *,
        api_url: str = "",
        basic_auth: Authenticator | None = None,
        telemetry_path: str = "/metrics",
        headers: Headers | None = None,
    ) -> None:
        self._exposition = exposition
        self._store = store
        self._healthy = healthy
        self._auth = basic_auth
        self._telemetry_path = telemetry_path
        self._extra_headers = list(headers or [])  # --web.config.file's http_server_config.headers
        self._landing = landing_page(urlsplit(api_url).hostname or "", telemetry_path)
        self._routes: dict[str, Callable[[WSGIEnvironment], tuple[str, Headers, bytes]]] = {
            telemetry_path: self._metrics,
            "/": self._root,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }

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
        headers.extend(self._extra_headers)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [b""] if method == "HEAD" else [body]

    def worker_for(self, environ: WSGIEnvironment) -> Work | None:
        """Tell which worker threads a request needs, or None when the serving loop may answer it inline.

        Two need workers: a credential check that pays bcrypt's cost, and a scrape of a poll
        not rendered yet in its format (seconds with many tenants, while the probes must
        answer). A scrape answered inline gets the payload found here: a poll published in
        between must not make the loop render it, or wait for the poll thread's render.
        """
        path = environ.get("PATH_INFO", "/") or "/"
        auth = None if path in OPEN_PATHS else self._auth
        if auth is not None and not auth.decides_at_once(environ.get("HTTP_AUTHORIZATION")):
            return "check"
        if path == self._telemetry_path:
            payload = self._exposition.rendered_payload(
                environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING")
            )
            if payload is None:
                return "render"
            environ[_PAYLOAD] = payload
        return None

    def _respond(self, method: str, path: str, environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        if path not in OPEN_PATHS and self._auth and not self._auth.allows(environ.get("HTTP_AUTHORIZATION")):
            status, headers, body = _text("401 Unauthorized", "unauthorized\n")
            headers.append(("WWW-Authenticate", f'Basic realm="{PRODUCT}", charset="UTF-8"'))
            return status, headers, body
        route = self._routes.get(path)
        if route is None:
            return _text("404 Not Found", "not found; see / for the pages this exporter serves\n")
        if method not in {"GET", "HEAD"}:
            status, headers, body = _text("405 Method Not Allowed", "method not allowed\n")
            headers.append(("Allow", "GET, HEAD"))
            return status, headers, body
        return route(environ)

    def _metrics(self, environ: WSGIEnvironment) -> tuple[str, Headers, bytes]:
        payload = environ.get(_PAYLOAD) or self._exposition.render(
            environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING")
        )
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


def landing_page(api_host: str, telemetry_path: str = "/metrics") -> bytes:
    """Render the page at / (only the data centre's host name: never a path, user or secret)."""
    metrics = html.escape(telemetry_path)
    source = f"<p>Data centre: <code>{html.escape(api_host)}</code></p>" if api_host else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{PRODUCT}</title></head>
<body>
<h1>{PRODUCT} {html.escape(__version__)}</h1>
<p>Prometheus exporter for the Acronis Cyber Protect Cloud Task Manager API v2.</p>
{source}
<ul>
<li><a href="{metrics}">{metrics}</a>: the metrics</li>
<li><a href="/healthz">/healthz</a>: 200 while the poll loop runs</li>
<li><a href="/readyz">/readyz</a>: 200 once the first poll is published</li>
</ul>
</body>
</html>
""".encode()
