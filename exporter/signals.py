"""SIGHUP and SIGUSR1: noticed by the handler, acted on by a thread of their own.

* SIGHUP logs ``reload_not_supported`` and changes nothing: settings are read once at
  start (restart to change them), while secret files are re-read on every use anyway.
* SIGUSR1 logs ``state_dump``: readiness, health, and each source's last outcome.

The handler only writes the signal's number to a pipe: a Python handler runs between two
bytecodes of the main thread, which may hold the very lock that logging needs. SIGTERM and
SIGINT are ``__main__``'s (they stop the exporter).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from typing import TYPE_CHECKING

from exporter import logs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType

_log = logs.get_logger(component="main")
_RELOAD_NOTE = (
    "settings are read once at start: restart the exporter to change them; "
    "secret files (api.client_secret_file, api.password_file, api.bearer_token_file, "
    "web.basic_auth_password_file) are re-read on every use"
)


def _starting() -> Mapping[str, object]:
    return {"phase": "starting"}


class _Notices:
    """The pipe from the signal handler to the thread that logs."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)  # a flood of signals is dropped, never blocks the handler
        self.state: Callable[[], Mapping[str, object]] = _starting
        threading.Thread(target=self._serve, name="signals", daemon=True).start()

    def notice(self, signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self._write, bytes([signum]))

    def _serve(self) -> None:
        while data := os.read(self._read, 64):
            for signum in data:
                self._act(signum)

    def _act(self, signum: int) -> None:
        if signum == signal.SIGHUP:
            _log.warning("reload_not_supported", signal="SIGHUP", note=_RELOAD_NOTE)
            return
        try:
            state = dict(self.state())
        except Exception:  # noqa: BLE001 - a dump must never take the exporter down
            _log.exception("state_dump_failed", signal="SIGUSR1")
            return
        _log.info("state_dump", signal="SIGUSR1", **state)


_notices: _Notices | None = None


def install() -> None:
    """Handle SIGHUP and SIGUSR1 from now on (main thread only; later calls do nothing)."""
    global _notices  # noqa: PLW0603 - one pipe per process, as there is one handler per signal
    if _notices is not None or threading.current_thread() is not threading.main_thread():
        return
    _notices = _Notices()
    for signum in (signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, _notices.notice)


def report_state_with(state: Callable[[], Mapping[str, object]]) -> None:
    """Make SIGUSR1 log what ``state`` returns."""
    if _notices is not None:
        _notices.state = state
