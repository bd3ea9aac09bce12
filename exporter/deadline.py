"""A deadline for a whole HTTP request, enforced on the socket, and a stop switch that cuts it short.

httpx's timeouts bound each network operation, so a reply sent at one byte a second never
times out. Here every socket operation of a request looks at one deadline, the budget of
``request_deadline``: connect, TLS handshake, sending, waiting for the headers and reading
the body all draw on it, and the request fails with ``httpx.TimeoutException`` once it is
spent. Reads wait in short slices, so a stop event set by shutdown ends a hung or dripping
read within ``STOP_SLICE`` seconds (``httpx.ReadError``) instead of holding up exit.

The deadline is per thread (a sync httpx request runs entirely in the thread that sent it)
and armed by the request's first socket operation, so a token minted inside the auth flow,
under a deadline of its own, does not eat into the API request's budget.
"""

from __future__ import annotations

import ssl  # noqa: TC003 - the signature httpcore checks
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final

import httpcore
import httpx

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

STOP_SLICE: Final = 0.2  # seconds a read blocks before it looks at the stop event again


class _Deadline:
    """The budget of one request, armed on its first socket operation."""

    def __init__(self, budget: float, stop: threading.Event | None) -> None:
        self.budget, self.stop = budget, stop
        self._ends_at: float | None = None

    def remaining(self) -> float:
        if self._ends_at is None:
            self._ends_at = time.monotonic() + self.budget
        return self._ends_at - time.monotonic()

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


_current = threading.local()


@contextmanager
def request_deadline(budget: float, stop: threading.Event | None = None) -> Iterator[None]:
    """Bound every socket operation of the requests sent in this block by ``budget`` seconds in all.

    Without a ``stop`` of its own, a nested block (a token minted for a request) keeps the outer one's.
    """
    outer = _deadline()
    _current.deadline = _Deadline(budget, stop or (outer.stop if outer else None))
    try:
        yield
    finally:
        _current.deadline = outer


def _deadline() -> _Deadline | None:
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    return deadline


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """Return ``timeout`` cut to what the current deadline leaves; raise ``expired`` when none is left."""
    deadline = _deadline()
    if deadline is None:
        return timeout
    if deadline.stopped():
        raise httpcore.ReadError("request cancelled by shutdown")
    left = deadline.remaining()
    if left <= 0:
        raise expired(f"request deadline of {deadline.budget:g}s passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose operations draw on the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, in slices that look at the stop event, until data comes or the deadline passes."""
        if _deadline() is None:
            return self._inner.read(max_bytes, timeout)
        while True:
            bounded = _bounded(timeout, httpcore.ReadTimeout)
            started = time.monotonic()
            try:
                # A timed-out recv consumed nothing (TLS keeps a partial record): safe to repeat.
                return self._inner.read(max_bytes, min(bounded or STOP_SLICE, STOP_SLICE))
            except httpcore.ReadTimeout:
                if timeout is not None:  # httpx's own per-read timeout still holds
                    timeout -= time.monotonic() - started
                    if timeout <= 0:
                        raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write within the deadline (not sliced: a partial send cannot be resumed)."""
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        """Do the TLS handshake within the deadline."""
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:  # noqa: ANN401 - httpcore's signature
        """Pass through to the socket's stream."""
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Opens connections within the deadline and hands out deadline-bound streams."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect within what is left of the deadline."""
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Connect within what is left of the deadline."""
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        self._inner.sleep(seconds)


def keep_deadlines(client: httpx.Client) -> httpx.Client:
    """Make every transport of ``client`` keep ``request_deadline``: the direct one and any proxy's.

    The client is built as usual first, so HTTPS_PROXY and NO_PROXY from the environment
    are honoured as before; a transport that is not httpx's own (a test's) is left alone.
    httpx has no public hook for httpcore's network backend: this reaches for the pools'
    attribute, and tests/test_deadline.py fails if a new httpx moves it.
    """
    transports = [client._transport, *client._mounts.values()]  # noqa: SLF001
    for transport in transports:
        if isinstance(transport, httpx.HTTPTransport):
            pool = transport._pool  # noqa: SLF001
            if not isinstance(pool._network_backend, _DeadlineBackend):  # noqa: SLF001
                pool._network_backend = _DeadlineBackend(pool._network_backend)  # noqa: SLF001
    return client
