"""A small JSON HTTP API for a test to program: the handler base and the server that runs it.

The fault tests' stub APIs (Acronis, Astra) and the secret-echo API share it: a handler
subclasses ``JsonHandler`` and answers with ``send_json``; ``JsonStub`` serves it on a free
loopback port on a thread of its own until ``stop()`` (or the end of its ``with`` block).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from tests.support.lifetime import StopsOnExit

if TYPE_CHECKING:
    from collections.abc import Mapping


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet handler that answers JSON."""

    protocol_version = "HTTP/1.1"

    def send_json(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        """Answer ``status`` with ``body`` as JSON, plus ``headers`` (which may replace the type)."""
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - the stdlib's names
        """Keep the test output quiet."""


class JsonStub(StopsOnExit):
    """Serves ``handler`` on a free loopback port; ``url`` is its base URL."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
