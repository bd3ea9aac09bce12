"""A stub Acronis API that misbehaves on purpose: hangs, answers slowly, drips, or floods.

The simulator answers like the real API; this one answers like a broken proxy or a hostile
host, at the socket level, which the simulator's faults cannot: a reply that never comes,
a body sent a byte at a time, hundreds of megabytes of it, or a gzip bomb (also as the
body of a 401, which an auth layer might read on its own before resending), or text meant
for the exporter's logs: JSON keys or a Content-Type of megabytes, with control characters
and the client secret in them, or a status line with a number HTTP does not define. In ``ok`` mode
it answers just enough for the exporter to become ready (a token, empty listings, zero
counts). Each endpoint (``token`` or ``api``) has its own mode, switchable while it runs.

Usage::

    with HostileApi() as api:
        api.set("api", "drip")
        ... --api.url api.url ...
"""

from __future__ import annotations

import contextlib
import json
import socketserver
import threading
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Final, Literal

from tests.support.lifetime import StopsOnExit

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Iterator

Mode = Literal[
    "ok",
    "hung",
    "slow",
    "drip",
    "huge",
    "huge_json",
    "gzip_bomb",
    "gzip_bomb_401",
    "long_keys",
    "long_type",
    "odd_status",  # what a reply holds
]
Endpoint = Literal["token", "api"]
CLIENT_ID: Final = "hostile-client"
CLIENT_SECRET: Final = "hostile-Secret-0b6e2d"  # noqa: S105 - the stub's own test credential
HUGE_BYTES: Final = 200 * 1024 * 1024  # far beyond any cap, and beyond the chart's memory limit
SLOW_SECONDS: Final = 5.0
DRIP_PAUSE: Final = 0.2  # seconds between two bytes of a dripping reply
_CHUNK: Final = 64 * 1024
_BOMB_BYTES: Final = 256 * 1024 * 1024  # inflated size of the gzip bomb
# Reply text a log line must neither carry whole nor let forge a line: a terminal escape,
# a fake JSON log line after a line break, and the secret (a header takes only the secret).
_LOG_BAIT: Final = f'\x1b[2J\n{{"event": "forged"}}\x07{CLIENT_SECRET}'


@dataclass
class HostileApi(StopsOnExit):
    """The stub server; ``url`` is where the exporter should look for the API."""

    modes: dict[Endpoint, Mode] = field(default_factory=lambda: {"token": "ok", "api": "ok"})
    requests: list[tuple[Endpoint, Mode]] = field(default_factory=list)  # in arrival order
    _closing: threading.Event = field(default_factory=threading.Event)
    _server: socketserver.ThreadingTCPServer | None = None

    def __post_init__(self) -> None:
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner.answer(self.request)

        socketserver.ThreadingTCPServer.daemon_threads = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.1,), daemon=True).start()

    @property
    def url(self) -> str:
        """The stub's base URL."""
        assert self._server is not None  # set in __post_init__
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set(self, endpoint: Endpoint, mode: Mode) -> None:
        """Answer ``endpoint`` in ``mode`` from the next request on."""
        self.modes[endpoint] = mode

    def received(self, endpoint: Endpoint, mode: Mode) -> int:
        """Return how many requests to ``endpoint`` arrived while it was in ``mode``."""
        return self.requests.count((endpoint, mode))

    def stop(self) -> None:
        """Stop serving; hung and dripping answers end too."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, sock: socket.socket) -> None:
        """Read one request and answer it as the endpoint's mode says."""
        with sock, sock.makefile("rb") as reader:
            head = _read_head(reader)
            if head is None:
                return
            line, length = head
            reader.read(length)
            endpoint: Endpoint = "token" if "/idp/token" in line else "api"
            mode = self.modes[endpoint]
            self.requests.append((endpoint, mode))
            # OSError: the exporter hung up, exactly what a capped or timed-out read does.
            with contextlib.suppress(OSError):
                self._reply(sock, mode, _ok_body(endpoint, line))

    def _reply(self, sock: socket.socket, mode: Mode, body: bytes) -> None:
        if mode == "hung":
            self._closing.wait()
        elif mode == "slow":
            if self._closing.wait(SLOW_SECONDS):
                return
            sock.sendall(_head(len(body)) + body)
        elif mode == "drip":
            sock.sendall(_head(None))  # headers at once, then the body a byte at a time, never ending
            for byte in _forever(body):
                if self._closing.wait(DRIP_PAUSE):
                    return
                sock.sendall(byte)
        elif mode in ("huge", "huge_json"):
            sock.sendall(_head(None))  # no Content-Length: only counting what arrives can stop it
            for chunk in _flood(json_=mode == "huge_json"):
                sock.sendall(chunk)
        elif mode in _CANNED:
            sock.sendall(_CANNED[mode](len(self.requests)))
        else:
            sock.sendall(_head(len(body)) + body)


def _bombed(status: str) -> bytes:
    bomb = _gzip_bomb()
    return _head(len(bomb), extra="Content-Encoding: gzip\r\n", status=status) + bomb


ODD_STATUSES: Final = (209, 299, 418, 419, 451, 599, 600, 999)


def _long_keys() -> bytes:
    """Return a count reply without a count, keyed by what a log line would show."""
    body = json.dumps({"items": [], **{_LOG_BAIT + str(n) * 400_000: 1 for n in range(10)}}).encode()
    return _head(len(body)) + body


def _long_type() -> bytes:
    """Return a body no JSON parser takes, with a Content-Type that an error would show."""
    page = b"<html>"
    return (
        _head(len(page), extra=f"Content-Type: text/{CLIENT_SECRET}{'A' * 60_000}; charset=utf-8\r\n") + page
    )


def _odd_status(number: int) -> bytes:
    """Return the next of ODD_STATUSES: statuses HTTP does not define, and a few it does."""
    body = b"{}"
    return _head(len(body), status=f"{ODD_STATUSES[number % len(ODD_STATUSES)]} Odd") + body


# Answers by mode, given how many requests arrived (this one included).
_CANNED: Final[dict[Mode, Callable[[int], bytes]]] = {
    "gzip_bomb": lambda _: _bombed("200 OK"),
    "gzip_bomb_401": lambda _: _bombed("401 Unauthorized"),
    "long_keys": lambda _: _long_keys(),
    "long_type": lambda _: _long_type(),
    "odd_status": _odd_status,
}


def _read_head(reader: BinaryIO) -> tuple[str, int] | None:
    """Return the request line and Content-Length, or None when the client hung up."""
    line = reader.readline()
    if not line:
        return None
    length = 0
    while (header := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    return line.decode("latin-1"), length


def _ok_body(endpoint: Endpoint, request_line: str) -> bytes:
    if endpoint == "token":
        body: object = {"access_token": "hostile-token-4c1a", "token_type": "bearer", "expires_in": 7200}
    elif "lod=count" in request_line:
        body = {"count": 0}
    elif "/tasks/" in request_line or "/activities/" in request_line:
        body = {}
    else:
        body = {"items": [], "paging": {"cursors": {}}}
    return json.dumps(body).encode()


def _head(length: int | None, extra: str = "", status: str = "200 OK") -> bytes:
    # Connection: close always: the stub answers one request per connection, and a client
    # told nothing would reuse the socket and race the stub's close (a ReadError, not the
    # fault under test).
    sized = f"Content-Length: {length}\r\n" if length is not None else ""
    typed = "" if extra.startswith("Content-Type:") else "Content-Type: application/json\r\n"
    fixed = f"HTTP/1.1 {status}\r\n{typed}Connection: close\r\n"
    return f"{fixed}{sized}{extra}\r\n".encode()


def _forever(body: bytes) -> Iterator[bytes]:
    while True:
        for at in range(len(body)):
            yield body[at : at + 1]


def _flood(*, json_: bool) -> Iterator[bytes]:
    if not json_:
        chunk = b"<html>" + b"x" * (_CHUNK - 6)
        for _ in range(HUGE_BYTES // _CHUNK):
            yield chunk
        return
    # Valid JSON all the way: an items list of small objects, the shape that parses largest.
    yield b'{"items": ['
    item = b'{"id": "00000000-0000-0000-0000-000000000000", "state": "enqueued"},'
    chunk = item * (_CHUNK // len(item))
    for _ in range(HUGE_BYTES // len(chunk)):
        yield chunk
    yield b'{}], "paging": {"cursors": {}}}'


_bomb: bytes | None = None


def _gzip_bomb() -> bytes:
    """Return a gzip stream of zeros, a thousand times smaller than what it inflates to."""
    global _bomb  # noqa: PLW0603 - built once per test session: it takes a second
    if _bomb is None:
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = bytes(_CHUNK * 16)
        parts = [packer.compress(zeros) for _ in range(_BOMB_BYTES // len(zeros))]
        _bomb = b"".join(parts) + packer.flush()
    return _bomb
