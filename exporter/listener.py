"""The listening side of the web server: binding, TLS settings and the connection limit.

``MetricsServer`` binds ``web.listen_address`` (``:port`` means every interface, IPv6 and
IPv4) and serves any WSGI app from one selector loop (``httploop``), connections kept
alive between requests. With a certificate it speaks TLS 1.2 or newer; the handshake
advances inside the loop without blocking it, and a plain HTTP request gets a plain-text
400 saying so. What is served lives in ``server``.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Final

from exporter import tls
from exporter.connections import connection_limit
from exporter.httploop import ServingLoop

if TYPE_CHECKING:
    import ssl
    from wsgiref.types import WSGIApplication

    from exporter.config import WebSettings

# A backlog of 5 overflows under 20 concurrent scrapers, and every overflow costs the client
# a one-second SYN retransmit (the benchmark's 1.1 s p99 once).
_BACKLOG: Final = 128


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """Server-side TLS: TLS 1.2 or newer, Python's secure cipher defaults; never a pass-phrase prompt."""
    return tls.server_context(Path(cert_file), Path(key_file))


class MetricsServer:
    """Binds ``web.listen_address`` and serves the app until ``shutdown()``."""

    def __init__(self, web: WebSettings, app: WSGIApplication) -> None:
        host, port = web.host_port()
        self._socket = _bind(host, port)
        context = web.tls_context()  # from the flags or --web.config.file
        self.scheme = "https" if context is not None else "http"
        bound_host, bound_port = self.address
        # As wsgiref's server sets them up, without its reverse DNS lookup of the bind address.
        base_environ = {
            "SERVER_NAME": bound_host,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PORT": str(bound_port),
            "REMOTE_HOST": "",
            "CONTENT_LENGTH": "",
            "SCRIPT_NAME": "",
        }
        limit = connection_limit(web.max_connections)
        self._loop = ServingLoop(self._socket, app, tls=context, limit=limit, base_environ=base_environ)
        self._serving = False

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """Where to reach the server, e.g. http://[::]:9862."""
        host, port = self.address
        return f"{self.scheme}://{f'[{host}]' if ':' in host else host}:{port}"

    def serve_forever(self) -> None:
        """Serve on this thread until ``shutdown()`` is called from another one."""
        self._serving = True
        self._loop.run()

    def start(self) -> threading.Thread:
        """Serve on a new daemon thread; return it."""
        self._serving = True  # before the thread runs, so an early shutdown() still stops it
        thread = threading.Thread(target=self._loop.run, name="http", daemon=True)
        thread.start()
        return thread

    def shutdown(self) -> None:
        """Stop serving, close every connection and the listening socket."""
        self._loop.stop()
        if self._serving:  # wait for the loop to let go of the sockets; a loop never started has none
            self._loop.stopped.wait()
            self._serving = False
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    if host == "":
        try:  # ":9862" means every interface, IPv4 included, as Go exporters do
            return _listen(socket.AF_INET6, ("::", port), dual_stack=True)
        except OSError:  # no IPv6 on this host: every IPv4 interface will do
            return _listen(socket.AF_INET, ("0.0.0.0", port))  # noqa: S104 - asked for all
    return _listen(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port))


def _listen(
    family: socket.AddressFamily, address: tuple[str, int], *, dual_stack: bool = False
) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock
