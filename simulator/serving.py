"""What a running simulator shares, Acronis or Astra: its serving thread, its URL, ``with``."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from http.server import HTTPServer
    from types import TracebackType


class Serving:
    """A server answering on a thread of its own at ``url``; ``stop()`` it or use it in ``with``.

    The subclass starts ``_serving`` once the rest it needs is in place, and stops it in ``stop``.
    """

    def __init__(self, server: HTTPServer, *, name: str) -> None:
        host, port = str(server.server_address[0]), int(server.server_address[1])
        self.url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        # A short poll interval so that shutdown() returns at once.
        self._serving = threading.Thread(target=server.serve_forever, args=(0.05,), name=name, daemon=True)

    def stop(self) -> None:
        """Stop serving and release everything; safe to call twice."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
