"""The web server keeps connections alive between requests, and still closes and evicts them right.

Raw sockets against a real ``MetricsServer``: what goes over the wire is what is asserted.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from typing import TYPE_CHECKING

import pytest
import structlog.testing

from exporter.config import WebSettings
from tests.support.metrics_server import serving
from tests.support.processes import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from wsgiref.types import StartResponse, WSGIEnvironment

GET = b"GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"


def _echo(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """Answer with the method, path and Accept header it was given (no Content-Length)."""
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ.get('HTTP_ACCEPT', '-')}\n"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


@contextlib.contextmanager
def _server(max_connections: int = 64) -> Iterator[tuple[str, int]]:
    with serving(_echo, WebSettings(listen_address="127.0.0.1:0", max_connections=max_connections)) as server:
        yield server.address


def _connect(address: tuple[str, int]) -> socket.socket:
    return socket.create_connection(address, timeout=10.0)


def _response(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """Read one response: status line, headers (lower-cased names) and a Content-Length body."""
    reader = sock.makefile("rb")
    status = reader.readline().decode().strip()
    headers = {}
    while (line := reader.readline()) not in {b"\r\n", b""}:
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get("content-length", "0")))
    return status, headers, body


def _closed(sock: socket.socket) -> bool:
    return sock.recv(1) == b""


def test_one_connection_serves_request_after_request() -> None:
    """GETs on one socket get one complete answer each, the connection staying open."""
    with _server() as address, _connect(address) as sock:
        for accept in ("a", "b", "a", "c"):  # a repeated header block is answered as the first time
            sock.sendall(f"GET /x HTTP/1.1\r\nHost: t\r\nAccept: {accept}\r\n\r\n".encode())
            status, headers, body = _response(sock)
            assert status == "HTTP/1.1 200 OK"
            assert body == f"GET /x {accept}\n".encode()
            assert "connection" not in headers


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /hello HTTP/1.0\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"POST /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    ],
    ids=["http-1.0", "connection-close", "request-with-body"],
)
def test_the_connection_closes_when_the_client_asks_or_sent_a_body(request_bytes: bytes) -> None:
    """HTTP/1.0, ``Connection: close`` and an unread body end the connection after the answer."""
    with _server() as address, _connect(address) as sock:
        sock.sendall(request_bytes)
        status, headers, _ = _response(sock)
        assert status.endswith("200 OK")
        assert headers["connection"] == "close"
        assert _closed(sock)


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        (b"GARBAGE\r\n\r\n", "400"),
        (b"GET /hello HTTP/2.0\r\n\r\n", "505"),
        (b"GET /hello HTTP/1.1\r\nno colon here\r\n\r\n", "400"),
        (b"GET /hello HTTP/1.1\r\n" + b"X-A: b\r\n" * 101 + b"\r\n", "431"),
        # Exactly one byte over each limit, so that nothing is left unread when the server closes.
        (b"GET /" + b"a" * (65537 - 5), "414"),
        (b"GET /hello HTTP/1.1\r\nX-Long: " + b"a" * (65537 - 8), "431"),
        # 64 KiB of header lines in all, then a line too long for a blank one, in lines each well
        # under the line limit: a repeated header would otherwise be joined into a value of any size.
        (b"GET /hello HTTP/1.1\r\n" + (b"Accept: " + b"a" * 1014 + b"\r\n") * 64 + b"X-A", "431"),
        # A header block too large to be remembered whole is read line by line, by the same rules.
        (b"GET /hello HTTP/1.1\r\nX-Pad: " + b"p" * 5000 + b"\r\nno colon here\r\n\r\n", "400"),
        (b"GET http://[::1/hello HTTP/1.1\r\n\r\n", "400"),  # an absolute-form target that does not parse
    ],
    ids=[
        "request-line",
        "version",
        "header-line",
        "too-many-headers",
        "long-target",
        "long-header",
        "large-header-block",
        "large-block",
        "bad-absolute-target",
    ],
)
def test_a_malformed_request_gets_an_error_status_and_a_close(request_bytes: bytes, code: str) -> None:
    """A request the server cannot read is answered with its error code, never passed to the app."""
    with _server() as address, _connect(address) as sock:
        sock.sendall(request_bytes)
        status, _, body = _response(sock)
        assert status.split()[1] == code
        assert b"GET /hello" not in body
        assert _closed(sock)


def _newcomer_closed(address: tuple[str, int], kept: socket.socket, newcomers: list[socket.socket]) -> bool:
    """Connect once more; tell whether ``kept`` has been closed by the server since."""
    newcomers.append(_connect(address))
    readable, _, _ = select.select([kept], [], [], 0.5)
    return bool(readable) and _closed(kept)


def test_a_kept_alive_connection_between_requests_is_evicted_first() -> None:
    """At the limit, a connection idling after its answer gives way to newcomers, which are served.

    Newcomers keep arriving until it is closed: the server marks a connection idle just after
    its answer is sent, so the very first newcomer may still find both slots busy.
    """
    newcomers: list[socket.socket] = []
    with _server(max_connections=2) as address, _connect(address) as kept, _connect(address) as other:
        try:
            kept.sendall(GET)
            assert _response(kept)[0] == "HTTP/1.1 200 OK"
            other.sendall(GET)
            assert _response(other)[0] == "HTTP/1.1 200 OK"
            wait_until(
                lambda: _newcomer_closed(address, kept, newcomers),
                timeout=20.0,
                what="the kept-alive connection to be evicted",
            )
            with _connect(address) as last:
                last.sendall(GET)
                assert _response(last)[0] == "HTTP/1.1 200 OK"
        finally:
            for sock in newcomers:
                sock.close()


def test_a_header_block_just_under_the_limit_is_served() -> None:
    """64 KiB of header lines in all, the blank line beyond them, is a request like any other."""
    with _server() as address, _connect(address) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\n" + (b"Accept: " + b"a" * 1014 + b"\r\n") * 64 + b"\r\n")
        status, _, body = _response(sock)
        assert status == "HTTP/1.1 200 OK"
        assert body.startswith(b"GET /hello a")


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("http://test/hello", "/hello"),
        ("http://test:9862/hello?x=1", "/hello"),
        ("https://user@test/a%20b", "/a b"),
        ("http://test", "/"),
    ],
)
def test_an_absolute_form_target_is_routed_on_its_path(target: str, path: str) -> None:
    """RFC 9112 3.2.2: a server MUST accept ``GET http://host/path``; the app sees the path."""
    with _server() as address, _connect(address) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        status, _, body = _response(sock)
        assert status == "HTTP/1.1 200 OK"
        assert body == f"GET {path} -\n".encode()


def _unencodable_header(_environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Greeting", "snow \u2603")])
    return [b"hello\n"]


def test_a_header_http_cannot_carry_gets_a_500_and_an_error_log() -> None:
    """A header value outside Latin-1 is the app's bug: the client gets 500, the log an error."""
    with serving(_unencodable_header) as server:
        with structlog.testing.capture_logs() as logged:
            for _ in range(2):  # the server lives on
                with _connect(server.address) as sock:
                    sock.sendall(GET)
                    status, headers, _ = _response(sock)
                    assert status == "HTTP/1.1 500 Internal Server Error"
                    assert headers["connection"] == "close"
                    assert _closed(sock)
        failures = [entry for entry in logged if entry["event"] == "http_request_failed"]
        assert [entry["log_level"] for entry in failures] == ["error", "error"]


class _SlowCheck:
    """An app whose /guarded answer waits for ``release``, as a bcrypt check keeps a request busy."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def worker_for(self, environ: WSGIEnvironment) -> str | None:
        return "check" if environ["PATH_INFO"] == "/guarded" else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/guarded":
            self.release.wait(timeout=30.0)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['PATH_INFO']}\n".encode()]


def test_a_request_waiting_on_a_slow_credential_check_does_not_hold_up_others() -> None:
    """While one request's check runs on a worker, other connections are answered; then it is too."""
    app = _SlowCheck()
    with (
        serving(app, before_shutdown=app.release.set) as server,
        _connect(server.address) as slow,
        _connect(server.address) as fast,
    ):
        slow.sendall(b"GET /guarded HTTP/1.1\r\n\r\n")
        for _ in range(3):
            fast.sendall(GET)
            assert _response(fast)[2] == b"/hello\n"
        assert select.select([slow], [], [], 0)[0] == []  # still being checked
        app.release.set()
        assert _response(slow)[2] == b"/guarded\n"


class _Gate:
    """Records the paths it answers, in order; ``/gate`` holds the serving loop until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.served: list[str] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/gate":
            self.entered.set()
            self.release.wait(timeout=30.0)
        self.served.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok\n"]


def test_a_pipelining_client_gets_one_answer_per_turn_not_the_loop() -> None:
    """A probe that arrives beside 50 pipelined requests is answered before most of them, not after all."""
    app = _Gate()
    with serving(app, before_shutdown=app.release.set) as server:
        with _connect(server.address) as flood, _connect(server.address) as gate:
            flood.sendall(GET)
            _response(flood)  # accepted and watched before the loop is held
            gate.sendall(b"GET /gate HTTP/1.1\r\n\r\n")
            assert app.entered.wait(timeout=10.0)
            flood.sendall(b"GET /flood HTTP/1.1\r\n\r\n" * 50)  # all in the socket's buffer at once
            with _connect(server.address) as probe:
                probe.sendall(b"GET /probe HTTP/1.1\r\n\r\n")
                app.release.set()
                assert _response(probe)[0] == "HTTP/1.1 200 OK"
                replies = b""
                while replies.count(b"HTTP/1.1 200 OK") < 50:
                    replies += flood.recv(65536)
        # Without turns it came after all 50: every buffered request was answered before select() ran.
        assert app.served.index("/probe") <= 4, app.served[:10]
