"""A credential check still running when the server shuts down is abandoned, not answered.

The serving loop closes its connections and its wake-up socket on shutdown; a check that
finishes later must neither queue a reply for a closed connection nor touch that socket.
Real worker threads; the loop is the test, which owns the wake-up and takes the replies.
"""

from __future__ import annotations

import threading
from http import HTTPStatus
from typing import TYPE_CHECKING

from exporter.httpserver import error_reply
from exporter.httpwire import BadHead
from exporter.httpworkers import Workers

if TYPE_CHECKING:
    from exporter.httpserver import Reply

_HANG_GUARD = 10.0  # bounds a hang; nothing here waits on anything slow


def test_a_check_finishing_after_shutdown_neither_answers_nor_wakes_the_loop() -> None:
    """Shut down mid-check; the check then returns: no wake-up, no reply to take."""
    wakes: list[None] = []
    workers: Workers[str] = Workers(lambda: wakes.append(None))
    started, release = threading.Event(), threading.Event()

    def check() -> Reply:
        started.set()
        release.wait(_HANG_GUARD)
        return error_reply(BadHead(HTTPStatus.UNAUTHORIZED))

    assert workers.submit("check", "connection", check)
    assert started.wait(_HANG_GUARD)
    workers.shutdown()
    release.set()
    for thread in threading.enumerate():  # they end once the check and its callback are done
        if thread.name.startswith("http-check"):
            thread.join(_HANG_GUARD)
    assert wakes == []
    assert list(workers.take()) == []
