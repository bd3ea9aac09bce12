"""An HTTP relay in front of the simulator that rewrites reply bodies the simulator cannot mangle itself.

The simulator's faults break bodies in a few set ways; a hostile API sends what no fault
names: a lone surrogate in a tenant name, one task on two pages, a raw byte that is not
UTF-8 inside one item, a 5,000-digit number. ``BodyRewriter`` relays every request
unchanged to the simulator (whose request log and ground truth stay exact) and hands the
body of each reply whose path starts with a rule's prefix to that rule's function. It is
a plain relay while no rule is set; ``clear()`` removes every rule.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.support.lifetime import StopsOnExit

if TYPE_CHECKING:
    from collections.abc import Callable

    Rewrite = Callable[[str, bytes], bytes]  # (path with query, body) -> new body

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
_UPSTREAM_TIMEOUT = 60.0  # longer than any latency fault: the exporter's own timeout decides


@dataclass
class _Rule:
    method: str
    path_prefix: str
    rewrite: Rewrite
    remaining: int | None


class BodyRewriter(StopsOnExit):
    """Relay 127.0.0.1:<port> to the simulator at ``upstream``, rewriting the bodies rules select."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Relay, self)
        self.port: int = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="rewriter", daemon=True).start()

    def rewrite(
        self, path_prefix: str, rewrite: Rewrite, *, method: str = "GET", times: int | None = None
    ) -> None:
        """Pass the bodies of the next ``times`` replies (None: until cleared) through ``rewrite``."""
        with self._lock:
            self._rules.append(_Rule(method, path_prefix, rewrite, times))

    def clear(self) -> None:
        """Remove every rule: the relay passes bodies through untouched again."""
        with self._lock:
            self._rules.clear()

    def active(self) -> bool:
        """Tell whether any rule is still set."""
        with self._lock:
            return bool(self._rules)

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def take(self, method: str, path: str) -> Rewrite | None:
        """Consume one use of the first rule that applies to ``method`` ``path``, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.method == method and path.startswith(rule.path_prefix):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule.rewrite
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[_Relay], rewriter: BodyRewriter) -> None:
        self.rewriter = rewriter
        super().__init__(address, handler)


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server
    _upstream: http.client.HTTPConnection | None = None

    def do_GET(self) -> None:  # the stdlib's name
        """Relay a GET."""
        self._relay()

    def do_POST(self) -> None:  # the stdlib's name
        """Relay a POST."""
        self._relay()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401  the stdlib's signature
        """Stay quiet: the simulator logs every request."""

    def finish(self) -> None:
        """Close the upstream connection with the downstream one."""
        if self._upstream is not None:
            self._upstream.close()
        with contextlib.suppress(OSError):
            super().finish()

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request_body = self.rfile.read(length) if length else None
        headers = {name: value for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        try:
            status, reply_headers, body = self._forward(request_body, headers)
        except (OSError, http.client.HTTPException):
            self.close_connection = True  # the simulator hung up (stopping): so do we
            return
        rewrite = self.server.rewriter.take(self.command, self.path) if status == 200 else None
        if rewrite is not None:
            body = rewrite(self.path, body)
        try:
            self.send_response_only(status)
            for name, value in reply_headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the exporter gave up waiting: routine

    def _forward(
        self, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in range(2):  # a kept-alive upstream connection may have been closed meanwhile
            if self._upstream is None:
                host, port = self.server.rewriter.upstream
                self._upstream = http.client.HTTPConnection(host, port, timeout=_UPSTREAM_TIMEOUT)
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                response = self._upstream.getresponse()
                return response.status, response.getheaders(), response.read()
            except (OSError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover
