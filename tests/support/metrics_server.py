"""A real MetricsServer on a free loopback port, for the web server's tests."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from exporter.config import WebSettings
from exporter.listener import MetricsServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from wsgiref.types import WSGIApplication


@contextlib.contextmanager
def serving(
    app: WSGIApplication,
    web: WebSettings | None = None,
    *,
    before_shutdown: Callable[[], object] | None = None,
) -> Iterator[MetricsServer]:
    """Serve ``app`` (on 127.0.0.1:0 unless ``web`` says otherwise); shut down on exit.

    ``before_shutdown`` runs first, to release what a test's app still holds.
    """
    server = MetricsServer(web or WebSettings(listen_address="127.0.0.1:0"), app)
    server.start()
    try:
        yield server
    finally:
        if before_shutdown is not None:
            before_shutdown()
        server.shutdown()
