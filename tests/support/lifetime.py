"""Waiting on and stopping what a test runs in the background: a process, a thread, a socket.

``StopsOnExit`` gives a helper its ``with`` block: leaving it calls ``stop()``. The two
functions serve helpers that own a child process: a poll pause that ends the moment the
child dies, and the "does it answer 200 yet" probe their readiness waits repeat.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import subprocess
from typing import TYPE_CHECKING, Self

import httpx

if TYPE_CHECKING:
    import ssl
    from types import TracebackType


class StopsOnExit(abc.ABC):
    """Mixin: ``with helper:`` stops the helper however the block ends."""

    @abc.abstractmethod
    def stop(self) -> object:
        """Release whatever the helper owns."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            # A child that would not stop must not hide the failure that ended the block.
            if exc is None:
                raise


def pause_unless_exits(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Wait ``seconds``, or less if ``process`` ends first, so a crash is seen at once."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=seconds)


def answers_ok(url: str, *, timeout: float, verify: bool | ssl.SSLContext = True) -> bool:
    """Tell whether a GET of ``url`` answers 200; a connection that fails counts as no."""
    try:
        return httpx.get(url, verify=verifying(verify=verify), timeout=timeout).status_code == httpx.codes.OK
    except httpx.TransportError:
        return False


def verifying(*, verify: bool | ssl.SSLContext = True) -> bool | ssl.SSLContext:
    """Return ``verify``, with httpx's default (verify on, certifi's CAs) built once for all.

    ``httpx.get`` builds that context anew on every call: about 50 ms of CPU to load the
    CA bundle. A readiness wait polling every 50 ms spent a whole core on it, taken from
    the very process it waited for.
    """
    return _default_context() if verify is True else verify


@functools.cache
def _default_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
